import { CIVITAI_PARAM_KEYS } from './civitai-params.js';
import type { SourceEndpoints } from './endpoints.js';
import type { SourceRef } from './resolution.js';

/**
 * Where a referenced file is downloaded from: always the configured endpoint, so a mirror (or a
 * test server) serves pasted public URLs too. A Civitai URL carries the file-picking parameters,
 * so the download gets the file the metadata described.
 */
export function downloadUrlOf(ref: SourceRef, endpoints: SourceEndpoints): string {
  if (ref.host === 'huggingface') {
    const path = ref.path.split('/').map(encodeURIComponent).join('/');
    return new URL(`${endpoints.hf}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${path}`).href;
  }
  const url = new URL(`${endpoints.civitai}/api/download/models/${ref.versionId}`);
  for (const key of CIVITAI_PARAM_KEYS) {
    const value = ref.params[key];
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return url.href;
}
