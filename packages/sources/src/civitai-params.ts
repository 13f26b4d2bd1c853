import type { CivitaiFileParams } from './resolution.js';

/** The query parameters of a Civitai download URL that pick one of a version's files. */
export const CIVITAI_PARAM_KEYS = [
  'type',
  'format',
  'size',
  'fp',
] as const satisfies readonly (keyof CivitaiFileParams)[];

/** The file-picking parameters of a query (keys in any case; others, `token` among them, ignored). */
export function civitaiParamsOf(search: URLSearchParams): CivitaiFileParams {
  const params: CivitaiFileParams = {};
  for (const [key, value] of search) {
    const known = CIVITAI_PARAM_KEYS.find((k) => k === key.toLowerCase());
    if (known && value !== '' && params[known] === undefined) params[known] = value;
  }
  return params;
}

export function hasParams(params: CivitaiFileParams): boolean {
  return CIVITAI_PARAM_KEYS.some((key) => params[key] !== undefined);
}
