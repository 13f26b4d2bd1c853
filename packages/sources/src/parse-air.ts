import type { CivitaiFileParams, SourceRef } from './resolution.js';
import { badReference, parseId } from './reference-parts.js';

const AIR = /^urn:air:([\w.-]+):([\w.-]+):([\w-]+):(\d+)(?:@(\d+))?(?:\.(\w+))?$/i;

/** Civitai's `format` for an AIR's file extension (others name no format Civitai knows). */
const FORMATS: Record<string, string> = {
  safetensors: 'SafeTensor',
  ckpt: 'PickleTensor',
  pt: 'PickleTensor',
  pth: 'PickleTensor',
  bin: 'PickleTensor',
  gguf: 'GGUF',
};

/** A Civitai AIR, `urn:air:ECOSYSTEM:TYPE:civitai:MODEL_ID@VERSION_ID[.FORMAT]`. */
export function parseAir(text: string): SourceRef {
  const m = AIR.exec(text);
  if (!m) throw badReference(text, 'not an AIR of the form urn:air:ECOSYSTEM:TYPE:civitai:MODEL_ID@VERSION_ID');
  const [, , , source = '', modelText = '', versionText, extension] = m;
  if (source.toLowerCase() !== 'civitai') throw badReference(text, `AIRs of ${source} are not fetched (civitai only)`);
  // Without a version an AIR names a model, which has many files over its versions.
  if (versionText === undefined) throw badReference(text, 'an AIR without @VERSION_ID names no file');
  const modelId = parseId(modelText);
  const versionId = parseId(versionText);
  if (modelId === null || versionId === null)
    throw badReference(text, 'model and version ids must be positive integers');
  const format = extension ? FORMATS[extension.toLowerCase()] : undefined;
  const params: CivitaiFileParams = format ? { format } : {};
  return { host: 'civitai', versionId, modelId, params };
}
