/**
 * A URL fit for logs: query values hidden, user info dropped. Signed storage URLs and
 * Civitai's `?token=` carry secrets in the query, so no query value is logged in clear.
 */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    for (const key of [...new Set(url.searchParams.keys())]) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return '[unparseable url]';
  }
}
