import path from 'node:path';
import { SourceError, type HfRef } from './resolution.js';
import type { MetadataAnswer } from './source-metadata.js';

/** What the metadata needs of Hugging Face's answer to a HEAD of the resolve URL. */
export interface HfHead {
  status: number;
  header: (name: string) => string | undefined;
  /** Whether a token went with the request. */
  authorized: boolean;
}

export const HF_NO_SHA256 = 'the host publishes no SHA-256 for this file (not stored with LFS)';

const unavailable = (why: string): MetadataAnswer => ({ unavailable: `Hugging Face metadata unavailable: ${why}` });

function authRequired(ref: HfRef, head: HfHead, errorCode: string | undefined): SourceError {
  const start = `Hugging Face answered ${head.status} for ${ref.repo}`;
  const message = head.authorized
    ? `${start}: HF_TOKEN has no access to it (a gated or private repository${errorCode === 'RepoNotFound' ? ', or none of that name' : ''})`
    : errorCode === 'RepoNotFound'
      ? // Without a token the Hub answers an unknown repository as it does a private one.
        `${start}: not found, or private/gated: set HF_TOKEN with access to it`
      : `${start}: a gated or private repository; set HF_TOKEN with access to it`;
  return new SourceError('AUTH_REQUIRED', message, { status: head.status });
}

function notFound(ref: HfRef, errorCode: string | undefined): SourceError {
  const message =
    errorCode === 'RepoNotFound'
      ? `Hugging Face has no repository ${ref.repo}`
      : errorCode === 'RevisionNotFound'
        ? `Hugging Face repository ${ref.repo} has no revision ${ref.revision}`
        : `Hugging Face repository ${ref.repo} has no file ${ref.path} at revision ${ref.revision}`;
  return new SourceError('SOURCE_NOT_FOUND', message, { status: 404 });
}

/** An ETag without `W/` and quotes. */
const bareEtag = (value: string) => value.replace(/^W\//, '').replace(/^"|"$/g, '');

/**
 * The file's metadata from the final answer to the HEAD (a 2xx, or a redirect to storage),
 * as huggingface_hub reads it; throws a SourceError for a file that cannot be had as asked.
 */
export function hfAnswer(ref: HfRef, head: HfHead): MetadataAnswer {
  const errorCode = head.header('x-error-code');
  if (errorCode === 'GatedRepo' || head.status === 401 || head.status === 403) throw authRequired(ref, head, errorCode);
  if (head.status === 404) throw notFound(ref, errorCode);
  if (head.status < 200 || head.status >= 400) return unavailable(`answered ${head.status}`);
  // A redirect's own ETag and length describe the redirect: only the X-Linked ones describe the file.
  const redirected = head.status >= 300;
  const etag = head.header('x-linked-etag') ?? (redirected ? undefined : head.header('etag'));
  const sizeText = head.header('x-linked-size') ?? (redirected ? undefined : head.header('content-length'));
  if (!etag) return unavailable('malformed answer (no ETag)');
  const size = sizeText !== undefined && /^\d+$/.test(sizeText) ? Number(sizeText) : Number.NaN;
  if (!Number.isSafeInteger(size)) return unavailable(`malformed answer (size ${JSON.stringify(sizeText ?? null)})`);
  // LFS files have the SHA-256 of their content as ETag; others the git blob's SHA-1.
  const hash = bareEtag(etag).toLowerCase();
  const sha256 = /^[0-9a-f]{64}$/.test(hash) ? hash : undefined;
  const commit = head.header('x-repo-commit');
  return {
    found: {
      fileName: path.posix.basename(ref.path),
      ...(sha256 ? { sha256 } : { noSha256Reason: HF_NO_SHA256 }),
      size,
      source: {
        host: 'huggingface',
        repo: ref.repo,
        revision: ref.revision,
        path: ref.path,
        ...(commit ? { commit } : {}),
      },
    },
  };
}
