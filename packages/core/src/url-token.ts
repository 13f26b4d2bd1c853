/** Query parameters that carry a credential (Civitai's `?token=`). */
const TOKEN_PARAMS = new Set(['token']);

/**
 * Splits a credential out of a URL: the URL without it (what is stored in jobs, the registry,
 * logs and answers) and the token itself (kept apart, see urlTokenKey in redis-keys).
 */
export function splitUrlToken(raw: string): { url: string; token?: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw };
  }
  if (!url.search) return { url: raw };
  // Cut the parameter out of the raw query, leaving every other byte as given (re-encoding the
  // rest could break a signed URL, and would make the same URL compare unequal).
  let token: string | undefined;
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((part) => {
      const [key = '', value = ''] = part.split(/=(.*)/s);
      let name = key;
      try {
        name = decodeURIComponent(key.replace(/\+/g, ' '));
      } catch {
        /* keep the raw name */
      }
      if (!TOKEN_PARAMS.has(name.toLowerCase())) return true;
      if (token === undefined) {
        try {
          token = decodeURIComponent(value.replace(/\+/g, ' '));
        } catch {
          token = value;
        }
      }
      return false;
    });
  if (token === undefined) return { url: raw };
  url.search = kept.length ? `?${kept.join('&')}` : '';
  return { url: url.toString(), token };
}

/** Puts a token back for the request itself. */
export function withUrlToken(stripped: string, token: string | null | undefined): string {
  if (!token) return stripped;
  const url = new URL(stripped);
  url.hash = '';
  // Appended to the raw query: the other parameters go out exactly as given.
  url.search = `${url.search ? `${url.search}&` : '?'}token=${encodeURIComponent(token)}`;
  return url.toString();
}
