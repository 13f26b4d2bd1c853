import { posix } from 'node:path';
import type http from 'node:http';
import { answer } from './answer.js';
import { bearerToken } from './bearer-token.js';
import { type FakeFile, fakeFile } from './fake-file.js';
import type { FakeStorage } from './fake-storage.js';
import { gitBlobId } from './git-blob-id.js';
import { hubError } from './hub-error.js';
import { HubGates } from './hub-gates.js';
import { resolvePath, splitRevision } from './hub-path.js';
import { type HubEntry, HubRepos } from './hub-repos.js';
import { LoopbackServer } from './loopback-server.js';
import { safetensorsOf } from './safetensors.js';
import { sendBody } from './send-body.js';

export interface HubRequest {
  method: string;
  path: string;
  authorization?: string;
  status: number;
  at: number;
}

export interface HubFileOptions {
  /** Branch, tag or ref (refs/pr/1); default main. */
  revision?: string;
  /** Stored in LFS (redirected to storage, X-Linked-* headers); default true. */
  lfs?: boolean;
}

/**
 * The Hugging Face Hub as huggingface_hub's get_hf_file_metadata and hf_hub_download see it:
 * HEAD and GET on /{repo}/resolve/{revision}/{path}.
 */
export class FakeHuggingFace extends LoopbackServer {
  readonly requests: HubRequest[] = [];
  /** HEAD answers and GET redirects wait this long (a slow metadata call). */
  metadataDelayMs = 0;
  /** Garbage X-Linked-Etag, X-Linked-Size and ETag. */
  malformed = false;
  /** Resolve requests answered 503. */
  down = false;
  /** How long the storage URLs in redirects stay valid. */
  signedUrlTtlMs = 3_600_000;
  private readonly repos = new HubRepos();
  private readonly gates = new HubGates();
  private readonly renames = new Map<string, string>();

  constructor(private readonly storage: FakeStorage) {
    super();
  }

  /** Publishes a file; a number publishes a random safetensors file of that size. */
  addFile(repo: string, path: string, file: FakeFile | number, options: HubFileOptions = {}): FakeFile {
    const published = typeof file === 'number' ? fakeFile(posix.basename(path), safetensorsOf(file)) : file;
    this.repos.add(repo, options.revision ?? 'main', path, { file: published, lfs: options.lfs ?? true });
    return published;
  }

  /** Makes the repo gated (or private): only `Authorization: Bearer <token>` with this token gets in. */
  gate(repo: string, token: string): void {
    this.gates.add(repo, token);
  }

  /** A renamed repo: requests for the old name get a relative 307 to the new one. */
  addRename(oldRepo: string, newRepo: string): void {
    this.renames.set(oldRepo, newRepo);
  }

  /** HEAD requests so far: get_hf_file_metadata's calls. */
  metadataCalls(): number {
    return this.requests.filter((r) => r.method === 'HEAD').length;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub');
    const method = req.method ?? 'GET';
    const authorization = req.headers.authorization;
    const record: HubRequest = { method, path: url.pathname, authorization, status: 0, at: Date.now() };
    this.requests.push(record);
    const target = resolvePath(url.pathname);
    if (!target || (method !== 'GET' && method !== 'HEAD'))
      return answer(req, res, record, 404, { 'content-type': 'text/plain' }, 'Not Found');
    if (this.down) return answer(req, res, record, 503, { 'content-type': 'text/plain' }, 'Service Unavailable');
    const renamed = this.renames.get(target.repo);
    if (renamed) {
      const location = `/${renamed}/resolve/${target.rest}${url.search}`;
      return answer(req, res, record, 307, { location, 'content-type': 'text/plain' }, `Redirecting to ${location}`);
    }
    const refusal = this.gates.refusal(target.repo, this.repos.has(target.repo), bearerToken(authorization));
    if (refusal) return hubError(req, res, record, refusal.status, refusal.code, refusal.message);
    const split = splitRevision(target.rest, this.repos.revisionNames(target.repo));
    if (!split) return hubError(req, res, record, 404, 'EntryNotFound', 'Entry not found');
    const revision = this.repos.revision(target.repo, split.revision);
    if (!revision) return hubError(req, res, record, 404, 'RevisionNotFound', `Invalid rev id: ${split.revision}`);
    const entry = revision.files.get(split.path);
    if (!entry) return hubError(req, res, record, 404, 'EntryNotFound', 'Entry not found');
    if (entry.lfs || method === 'HEAD') await this.pause(this.metadataDelayMs);
    if (res.destroyed) return;
    if (entry.lfs) return this.redirect(req, res, record, entry, revision.commit);
    sendBody(req, res, record, {
      bytes: entry.file.body,
      etag: this.malformed ? '"not-a-hash"' : `"${gitBlobId(entry.file.body)}"`,
      headers: { 'x-repo-commit': revision.commit, 'content-type': contentType(split.path) },
    });
  }

  /** An LFS file: a 302 to storage, its SHA-256 and size in X-Linked-Etag and X-Linked-Size. */
  private redirect(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: HubRequest,
    entry: HubEntry,
    commit: string,
  ): void {
    const location = this.storage.signedUrl(entry.file, this.signedUrlTtlMs);
    const etag = this.malformed ? '"not-a-hash"' : `"${entry.file.sha256}"`;
    const headers = {
      location,
      'content-type': 'text/plain; charset=utf-8',
      'x-repo-commit': commit,
      'x-linked-etag': etag,
      'x-linked-size': this.malformed ? 'abc' : String(entry.file.size),
      etag,
    };
    answer(req, res, record, 302, headers, `Found. Redirecting to ${location}`);
  }
}

const contentType = (path: string) =>
  path.endsWith('.json')
    ? 'application/json; charset=utf-8'
    : path.endsWith('.txt') || path.endsWith('.md')
      ? 'text/plain; charset=utf-8'
      : 'application/octet-stream';
