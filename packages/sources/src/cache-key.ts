import { CIVITAI_PARAM_KEYS } from './civitai-params.js';
import type { SourceRef } from './resolution.js';

/**
 * What identifies a referenced file, for its cached metadata (see core's sourceMetadataKey):
 * `hf:REPO/PATH@REVISION`, or `civitai:VERSION_ID` with its file parameters sorted and lower-cased.
 */
export function cacheKeyOf(ref: SourceRef): string {
  if (ref.host === 'huggingface') return `hf:${ref.repo}/${ref.path}@${ref.revision}`;
  const params = [...CIVITAI_PARAM_KEYS]
    .sort()
    .flatMap((key) => (ref.params[key] === undefined ? [] : [`${key}=${ref.params[key].toLowerCase()}`]));
  return `civitai:${ref.versionId}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}
