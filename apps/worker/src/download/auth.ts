/** Where each token may go. Built once from HF_TOKEN, CIVITAI_TOKEN and AUTH_HEADERS. */
export interface AuthRules {
  hfToken?: string;
  civitaiToken?: string;
  /** host or host:port (lower case) -> full Authorization header value */
  hostHeaders: Record<string, string>;
}

/**
 * The Authorization header for one request hop, chosen by that hop's host alone, so a redirect
 * to another host (a signed storage or CDN URL) gets none unless that host has its own entry.
 * HF_TOKEN goes to huggingface.co and its subdomains; CIVITAI_TOKEN to civitai.com.
 */
export function authorizationFor(url: string, rules: AuthRules): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = parsed.hostname.toLowerCase();
  const own = rules.hostHeaders[parsed.host.toLowerCase()] ?? rules.hostHeaders[host];
  if (own) return own;
  if (rules.hfToken && (host === 'huggingface.co' || host.endsWith('.huggingface.co'))) return `Bearer ${rules.hfToken}`;
  if (rules.civitaiToken && (host === 'civitai.com' || host === 'www.civitai.com')) return `Bearer ${rules.civitaiToken}`;
  return undefined;
}
