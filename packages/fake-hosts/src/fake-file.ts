import { createHash } from 'node:crypto';

/** A file the fakes publish: its bytes and what a host says about them before the first byte. */
export interface FakeFile {
  name: string;
  body: Buffer;
  /** Lower-case hex SHA-256 of body. */
  sha256: string;
  size: number;
}

export function fakeFile(name: string, body: Buffer): FakeFile {
  return { name, body, sha256: createHash('sha256').update(body).digest('hex'), size: body.length };
}
