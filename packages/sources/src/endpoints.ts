import type { Config } from '@model-manager/core';
import { parsedUrl } from './parsed-url.js';

/** Where references are resolved and downloaded: HF_ENDPOINT and CIVITAI_ENDPOINT, no trailing slash. */
export interface SourceEndpoints {
  hf: string;
  civitai: string;
}

export const PUBLIC_ENDPOINTS: SourceEndpoints = { hf: 'https://huggingface.co', civitai: 'https://civitai.com' };

export function endpointsFromConfig(config: Pick<Config, 'HF_ENDPOINT' | 'CIVITAI_ENDPOINT'>): SourceEndpoints {
  return { hf: config.HF_ENDPOINT, civitai: config.CIVITAI_ENDPOINT };
}

/**
 * The path of `url` below `endpoint` (which may carry a path of its own, a mirror's prefix), or
 * null when the URL is not on it.
 */
export function pathBelow(url: URL, endpoint: string): string | null {
  const base = parsedUrl(endpoint);
  if (base === null || url.origin !== base.origin) return null;
  const prefix = base.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${prefix}/`)) return null;
  return url.pathname.slice(prefix.length);
}
