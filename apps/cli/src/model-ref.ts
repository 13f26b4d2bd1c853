import type { ModelKind, ModelRefInput, UrlOrSource } from '@model-manager/client';

/** What REF may be, for messages. */
export const REF_FORMS = 'an http(s):// URL, hf:OWNER/REPO/PATH[@REVISION], civitai:VERSION_ID or urn:air:…';

const REFERENCE = /^(hf|civitai):|^urn:air:/i;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A reference (`hf:`, `civitai:`, `urn:air:`) as `source`, anything with a scheme and `//` as `url`
 * (the API says what is wrong with an ftp:// one), else undefined.
 */
export function urlOrSource(ref: string): UrlOrSource | undefined {
  if (REFERENCE.test(ref)) return { source: ref };
  if (URL_LIKE.test(ref)) return { url: ref };
  return undefined;
}

/** A request for one model; the name is left to the host when not given. */
export function modelRef(kind: ModelKind, where: UrlOrSource, name: string | undefined): ModelRefInput {
  return name === undefined ? { kind, ...where } : { kind, name, ...where };
}

/** The reference or URL a model was asked by. */
export const refText = (where: UrlOrSource): string => (where.source !== undefined ? where.source : where.url);
