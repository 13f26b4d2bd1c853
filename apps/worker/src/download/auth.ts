/** Where each token may go. Built once from HF_TOKEN, CIVITAI_TOKEN and AUTH_HEADERS. */
export interface AuthRules {
  hfToken?: string;
  civitaiToken?: string;
  /** host or host:port (lower case) -> full Authorization header value */
  hostHeaders: Record<string, string>;
}

/**
 * The Authorization header for one request hop. A token goes only to the host it is for
 * (HF_TOKEN: huggingface.co and its subdomains; CIVITAI_TOKEN: civitai.com; AUTH_HEADERS: the
 * host named), and only while the request is still on the host it started at: a redirect that
 * leaves it (to a signed storage or CDN URL, even another huggingface.co subdomain) gets none.
 */
export function authorizationFor(url: string, rules: AuthRules, startedAt: string = url): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.host.toLowerCase() !== new URL(startedAt).host.toLowerCase()) return undefined;
  } catch {
    return undefined;
  }
  const host = parsed.hostname.toLowerCase();
  const own = rules.hostHeaders[parsed.host.toLowerCase()] ?? rules.hostHeaders[host];
  if (own) return own;
  // The built-in tokens travel only over https to the service's own port: an `http://` URL
  // (or another port) would hand them to anyone on the network path.
  if (parsed.protocol !== 'https:' || parsed.port !== '') return undefined;
  if (rules.hfToken && (host === 'huggingface.co' || host.endsWith('.huggingface.co')))
    return `Bearer ${rules.hfToken}`;
  if (rules.civitaiToken && (host === 'civitai.com' || host === 'www.civitai.com'))
    return `Bearer ${rules.civitaiToken}`;
  return undefined;
}
