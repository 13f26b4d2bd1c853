import { civitaiAnswer } from './civitai-answer.js';
import { civitaiApiGet } from './civitai-api-get.js';
import type { SourceEndpoints } from './endpoints.js';
import { MetadataUnavailable, type MetadataClient } from './metadata-request.js';
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
export function civitaiMetadata(
  ref: CivitaiRef,
  endpoints: SourceEndpoints,
  client: MetadataClient,
): Promise<MetadataAnswer> {
  return civitaiApiGet(`/api/v1/model-versions/${ref.versionId}`, endpoints, client, (answer) => {
    if ('json' in answer) return civitaiAnswer(ref, answer.json);
    throw statusError(ref, answer.status, answer.authorized);
  });
}
