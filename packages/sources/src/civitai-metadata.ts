import { civitaiAnswer } from './civitai-answer.js';
import type { SourceEndpoints } from './endpoints.js';
import { failureReason, MetadataUnavailable, sendToHost, type MetadataClient } from './metadata-request.js';
import { readJson } from './read-json.js';
import { SourceError, type CivitaiRef } from './resolution.js';
import type { MetadataAnswer } from './source-metadata.js';

function statusError(ref: CivitaiRef, status: number, authorized: boolean): SourceError | MetadataUnavailable {
  if (status === 401 || status === 403) {
    const start = `Civitai answered ${status} for model version ${ref.versionId}`;
    return new SourceError(
      'AUTH_REQUIRED',
      authorized
        ? `${start}: CIVITAI_TOKEN has no access to it`
        : `${start}: it needs an account (early access or private); set CIVITAI_TOKEN`,
      { status },
    );
  }
  if (status === 404)
    return new SourceError('SOURCE_NOT_FOUND', `Civitai has no model version ${ref.versionId}`, { status });
  return new MetadataUnavailable(`answered ${status}`);
}

/** GETs the model version's JSON from the configured endpoint and picks the file the reference means. */
export async function civitaiMetadata(
  ref: CivitaiRef,
  endpoints: SourceEndpoints,
  client: MetadataClient,
): Promise<MetadataAnswer> {
  const url = `${endpoints.civitai}/api/v1/model-versions/${ref.versionId}`;
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
      throw statusError(ref, response.status, response.authorized);
    }
    return civitaiAnswer(ref, await readJson(response.body));
  } catch (err) {
    if (err instanceof SourceError) throw err;
    return { unavailable: `Civitai metadata unavailable: ${failureReason(err, signal, client.timeoutMs)}` };
  }
}
