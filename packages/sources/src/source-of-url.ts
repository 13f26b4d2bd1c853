import { civitaiParamsOf } from './civitai-params.js';
import { pathBelow, type SourceEndpoints } from './endpoints.js';
import { hfRefProblem } from './hf-ref-rules.js';
import { parsedUrl } from './parsed-url.js';
import { parseId } from './reference-parts.js';
import type { SourceRef } from './resolution.js';

const HF_PUBLIC = ['https://huggingface.co', 'https://hf.co'];
const CIVITAI_PUBLIC = ['https://civitai.com', 'https://www.civitai.com'];

/** The path of `url` below the first of `endpoints` it is on, or null. */
function pathOn(url: URL, endpoints: readonly string[]): string | null {
  for (const endpoint of endpoints) {
    const rest = pathBelow(url, endpoint);
    if (rest !== null) return rest;
  }
  return null;
}

function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function hfOf(path: string): SourceRef | null {
  // /OWNER/REPO/resolve/REVISION/PATH...: the revision is one segment, its "/" encoded (refs%2Fpr%2F1).
  const [, owner = '', repo = '', resolve, rawRevision = '', ...rawParts] = path.split('/');
  const revision = decoded(rawRevision);
  const parts = rawParts.map(decoded);
  // A path segment that decodes to "/" would name another file than the URL does.
  if (resolve !== 'resolve' || revision === null || parts.some((p) => p === null || p.includes('/'))) return null;
  const file = parts.join('/');
  if (hfRefProblem(owner, repo, file, revision)) return null;
  return { host: 'huggingface', repo: `${owner}/${repo}`, path: file, revision };
}

function civitaiOf(path: string, search: URLSearchParams): SourceRef | null {
  const m = /^\/api\/download\/models\/(\d+)\/?$/.exec(path);
  const versionId = m ? parseId(m[1]!) : null;
  return versionId === null ? null : { host: 'civitai', versionId, params: civitaiParamsOf(search) };
}

/**
 * The Hugging Face or Civitai file a download URL names (on the public host over https, or on
 * the configured endpoint), or null for any other URL, which is fetched as it is.
 */
export function sourceOfUrl(url: string, endpoints: SourceEndpoints): SourceRef | null {
  // Every URL of either host has one of these in its path: the others skip the URL parsing (the cache-hit path).
  if (!url.includes('/resolve/') && !url.includes('/api/download/models/')) return null;
  const parsed = parsedUrl(url);
  if (parsed === null) return null;
  const hfPath = pathOn(parsed, [...HF_PUBLIC, endpoints.hf]);
  const hf = hfPath === null ? null : hfOf(hfPath);
  if (hf) return hf;
  const civitaiPath = pathOn(parsed, [...CIVITAI_PUBLIC, endpoints.civitai]);
  return civitaiPath === null ? null : civitaiOf(civitaiPath, parsed.searchParams);
}
