import { createHash } from 'node:crypto';

/** Query parameters that carry a credential (Civitai's `?token=`). */
const TOKEN_PARAMS = new Set(['token']);

/**
 * Splits a credential out of a URL: the URL without it (what is stored in jobs, the registry,
 * logs and answers) and the token itself (kept apart, see urlTokenKey).
 */
export function splitUrlToken(raw: string): { url: string; token?: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw };
  }
  let token: string | undefined;
  for (const key of [...url.searchParams.keys()]) {
    if (TOKEN_PARAMS.has(key.toLowerCase())) {
      token ??= url.searchParams.get(key) ?? undefined;
      url.searchParams.delete(key);
    }
  }
  return token === undefined ? { url: raw } : { url: url.toString(), token };
}

/** Puts a token back for the request itself. */
export function withUrlToken(stripped: string, token: string | null | undefined): string {
  if (!token) return stripped;
  const url = new URL(stripped);
  url.searchParams.set('token', token);
  return url.toString();
}

/** The Redis key where the API leaves a URL's token for the worker (never in the job's data). */
export function urlTokenKey(prefix: string, strippedUrl: string): string {
  return `${prefix}:model-manager:url-token:${createHash('sha256').update(strippedUrl).digest('hex')}`;
}
