import type { Dispatcher } from 'undici';
import { MetadataUnavailable } from './metadata-request.js';

/** A model version's JSON is a few KiB; an answer far larger is not one. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

/** A JSON body, read up to MAX_JSON_BYTES; anything else is a malformed answer. */
export async function readJson(body: Dispatcher.ResponseData['body']): Promise<unknown> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > MAX_JSON_BYTES) {
      body.destroy();
      throw new MetadataUnavailable(`malformed answer (more than ${MAX_JSON_BYTES} bytes)`);
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new MetadataUnavailable('malformed answer (not JSON)');
  }
}
