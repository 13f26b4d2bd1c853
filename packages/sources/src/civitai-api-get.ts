import type { SourceEndpoints } from './endpoints.js';
import { failureReason, sendToHost, type MetadataClient } from './metadata-request.js';
import { readJson } from './read-json.js';
import { SourceError } from './resolution.js';

/** What Civitai's API answered: the JSON of a 200, or another status (its body discarded). */
export type CivitaiApiAnswer = { status: 200; json: unknown } | { status: number; authorized: boolean };

/**
 * GETs a path of Civitai's API on the configured endpoint and hands the answer to `read`. No
 * answer, an unreadable one, or a MetadataUnavailable `read` throws is `{ unavailable }`; a
 * SourceError `read` throws is the caller's.
 */
export async function civitaiApiGet<T>(
  path: string,
  endpoints: SourceEndpoints,
  client: MetadataClient,
  read: (answer: CivitaiApiAnswer) => T,
): Promise<T | { unavailable: string }> {
  const url = `${endpoints.civitai}${path}`;
  const signal = AbortSignal.timeout(client.timeoutMs);
  try {
    const response = await sendToHost(client, url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      startedAt: url,
      signal,
    });
    if (response.status !== 200) {
      await response.body.dump();
      return read({ status: response.status, authorized: response.authorized });
    }
    return read({ status: 200, json: await readJson(response.body) });
  } catch (err) {
    if (err instanceof SourceError) throw err;
    return { unavailable: `Civitai metadata unavailable: ${failureReason(err, signal, client.timeoutMs)}` };
  }
}
