import type { Config } from '@model-manager/core';
import { parsedUrl } from './parsed-url.js';

/** Where each token may go. Built once from HF_TOKEN, CIVITAI_TOKEN, AUTH_HEADERS and the endpoints. */
export interface AuthRules {
  hfToken?: string;
  civitaiToken?: string;
  /** host or host:port (lower case) -> full Authorization header value */
  hostHeaders: Record<string, string>;
  /** Origins of HF_ENDPOINT and CIVITAI_ENDPOINT: each gets its token too, over whatever scheme the operator chose. */
  endpoints?: { hf?: string; civitai?: string };
}

/** The rules a process's configuration sets. */
export function authRulesFromConfig(
  config: Pick<Config, 'HF_TOKEN' | 'CIVITAI_TOKEN' | 'AUTH_HEADERS' | 'HF_ENDPOINT' | 'CIVITAI_ENDPOINT'>,
): AuthRules {
  return {
    hfToken: config.HF_TOKEN,
    civitaiToken: config.CIVITAI_TOKEN,
    hostHeaders: config.AUTH_HEADERS,
    endpoints: { hf: originOf(config.HF_ENDPOINT), civitai: originOf(config.CIVITAI_ENDPOINT) },
  };
}

function originOf(url: string | undefined): string | undefined {
  return url ? parsedUrl(url)?.origin : undefined;
}

/** Civitai's API paths: on an origin that serves both hosts, these are Civitai's. */
const CIVITAI_PATH = /^\/api\/(?:download|v1)\//;

/** The token of the configured endpoint whose origin (scheme, host and port) the URL is on. */
function endpointToken(parsed: URL, rules: AuthRules): string | undefined {
  // The endpoints are origins already (authRulesFromConfig): compared as they are, on every hop.
  const hf = rules.hfToken && rules.endpoints?.hf === parsed.origin;
  const civitai = rules.civitaiToken && rules.endpoints?.civitai === parsed.origin;
  if (hf && civitai) return CIVITAI_PATH.test(parsed.pathname) ? rules.civitaiToken : rules.hfToken;
  return hf ? rules.hfToken : civitai ? rules.civitaiToken : undefined;
}

/**
 * The Authorization header for one request hop. A token goes only to the host it is for
 * (HF_TOKEN: huggingface.co and its subdomains, and HF_ENDPOINT; CIVITAI_TOKEN: civitai.com and
 * CIVITAI_ENDPOINT; AUTH_HEADERS: the host named), and only while the request is still on the
 * host it started at: a redirect that leaves it (to a signed storage or CDN URL, even another
 * huggingface.co subdomain) gets none.
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
  const configured = endpointToken(parsed, rules);
  if (configured) return `Bearer ${configured}`;
  // The public hosts get their tokens only over https to the service's own port: an `http://`
  // URL (or another port) would hand them to anyone on the network path.
  if (parsed.protocol !== 'https:' || parsed.port !== '') return undefined;
  if (rules.hfToken && (host === 'huggingface.co' || host.endsWith('.huggingface.co')))
    return `Bearer ${rules.hfToken}`;
  if (rules.civitaiToken && (host === 'civitai.com' || host === 'www.civitai.com'))
    return `Bearer ${rules.civitaiToken}`;
  return undefined;
}
