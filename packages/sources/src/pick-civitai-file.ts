import { CIVITAI_PARAM_KEYS, hasParams } from './civitai-params.js';
import type { CivitaiFile } from './civitai-version-schema.js';
import type { CivitaiFileParams } from './resolution.js';

/** A file's own type, format, size and fp: the parameters that ask Civitai's download for it. */
export function fileParamsOf(file: CivitaiFile): CivitaiFileParams {
  const values: CivitaiFileParams = {
    type: file.type ?? undefined,
    format: file.metadata?.format ?? undefined,
    size: file.metadata?.size ?? undefined,
    fp: file.metadata?.fp ?? undefined,
  };
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== ''));
}

const same = (a: string | undefined, b: string | undefined) => a !== undefined && a.toLowerCase() === b?.toLowerCase();

/**
 * The file a download with these parameters gets: the one matching every parameter given (any
 * case), else the primary one, else the first; undefined when the version has no files.
 */
export function pickCivitaiFile(files: readonly CivitaiFile[], params: CivitaiFileParams): CivitaiFile | undefined {
  if (hasParams(params)) {
    const matching = files.find((file) => {
      const own = fileParamsOf(file);
      return CIVITAI_PARAM_KEYS.every((key) => params[key] === undefined || same(params[key], own[key]));
    });
    if (matching) return matching;
  }
  return files.find((file) => file.primary) ?? files[0];
}

/**
 * The parameters to download the chosen file with: all of its own, so Civitai serves that very
 * file, spelled as the caller spelled those the caller gave.
 */
export function downloadParams(given: CivitaiFileParams, chosen: CivitaiFileParams): CivitaiFileParams {
  const params: CivitaiFileParams = {};
  for (const key of CIVITAI_PARAM_KEYS) {
    const value = same(given[key], chosen[key]) ? given[key] : chosen[key];
    if (value !== undefined) params[key] = value;
  }
  return params;
}
