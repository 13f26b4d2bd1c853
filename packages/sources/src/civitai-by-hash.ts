import { civitaiApiGet } from './civitai-api-get.js';
import { civitaiHashAnswer, type CivitaiHashAnswer } from './civitai-hash-answer.js';
import type { SourceEndpoints } from './endpoints.js';
import { MetadataUnavailable, type MetadataClient } from './metadata-request.js';

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Asks Civitai's documented `GET /api/v1/model-versions/by-hash/{hash}` which version's file has
 * this SHA-256. 404 is no such file; 401 and 403 (a version only an account may see, and not
 * this one) name none either. Anything else that is no answer is `{ unavailable }`.
 */
export async function civitaiByHash(
  sha256: string,
  endpoints: SourceEndpoints,
  client: MetadataClient,
): Promise<CivitaiHashAnswer> {
  const hash = sha256.toLowerCase();
  if (!SHA256.test(hash)) return { notFound: true };
  // Civitai publishes its hashes in upper case.
  const path = `/api/v1/model-versions/by-hash/${hash.toUpperCase()}`;
  return civitaiApiGet(path, endpoints, client, (answer): CivitaiHashAnswer => {
    if ('json' in answer) return civitaiHashAnswer(hash, answer.json, endpoints);
    if (answer.status === 404 || answer.status === 401 || answer.status === 403) return { notFound: true };
    throw new MetadataUnavailable(`answered ${answer.status}`);
  });
}
