import { createHash } from 'node:crypto';

/** The id git gives a file's content (`git hash-object`): the Hub's ETag for a file not in LFS. */
export function gitBlobId(body: Buffer): string {
  return createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
}
