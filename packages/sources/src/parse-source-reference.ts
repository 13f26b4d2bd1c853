import type { SourceRef } from './resolution.js';
import { hfRefProblem } from './hf-ref-rules.js';
import { parseAir } from './parse-air.js';
import { badReference, parseId } from './reference-parts.js';

function parseHf(text: string, body: string): SourceRef {
  const [owner = '', repo = '', ...rest] = body.split('/');
  // The revision follows the last "@" after the repository: it may hold "/" (refs/pr/1).
  const tail = rest.join('/');
  const at = tail.lastIndexOf('@');
  const path = at < 0 ? tail : tail.slice(0, at);
  const revision = at < 0 ? 'main' : tail.slice(at + 1);
  const problem = hfRefProblem(owner, repo, path, revision);
  if (problem) throw badReference(text, problem);
  return { host: 'huggingface', repo: `${owner}/${repo}`, path, revision };
}

/**
 * Reads a `source` reference. The path in an `hf:` reference is the file's name in the
 * repository as it is, not percent-encoded. A SourceError (INVALID_REQUEST, field `source`) says
 * what is wrong with one.
 */
export function parseSourceReference(text: string): SourceRef {
  if (text !== text.trim()) throw badReference(text, 'leading or trailing spaces');
  const colon = text.indexOf(':');
  const scheme = text.slice(0, colon).toLowerCase();
  const body = text.slice(colon + 1);
  if (colon > 0 && scheme === 'hf') return parseHf(text, body);
  if (colon > 0 && scheme === 'civitai') {
    const versionId = parseId(body);
    if (versionId === null) throw badReference(text, `${JSON.stringify(body)} is not a Civitai model version id`);
    return { host: 'civitai', versionId, params: {} };
  }
  if (colon > 0 && scheme === 'urn') return parseAir(text);
  throw badReference(text, 'not a known kind of reference');
}
