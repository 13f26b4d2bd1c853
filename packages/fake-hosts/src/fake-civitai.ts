import type http from 'node:http';
import { type Answered, answer, answerJson } from './answer.js';
import { bearerToken } from './bearer-token.js';
import { chooseFile } from './civitai-file-choice.js';
import { type CivitaiVersionSpec, publishVersion } from './civitai-publish.js';
import { type CivitaiMalformation, type CivitaiVersion, versionJson } from './civitai-version.js';
import type { FakeFile } from './fake-file.js';
import type { FakeStorage } from './fake-storage.js';
import { LoopbackServer } from './loopback-server.js';

export interface CivitaiRequest {
  method: string;
  path: string;
  search: string;
  authorization?: string;
  status: number;
  at: number;
}

const METADATA = /^\/api\/v1\/model-versions\/(?:by-hash\/([^/]+)|(\d+))$/;
const DOWNLOAD = /^\/api\/download\/models\/(\d+)$/;

/**
 * Civitai's public REST API (developer.civitai.com/docs/api/public-rest): model versions by id
 * and by hash, and the download endpoint that redirects to storage.
 */
export class FakeCivitai extends LoopbackServer {
  readonly requests: CivitaiRequest[] = [];
  /** /api/v1/ answers wait this long. */
  metadataDelayMs = 0;
  /** /api/v1/ answers with a broken file list (true, 'files') or wrong SHA-256s ('hash'). */
  malformed: boolean | CivitaiMalformation = false;
  /** /api/v1/ answered 503; downloads still work. */
  down = false;
  /** How long the storage URLs in download redirects stay valid. */
  signedUrlTtlMs = 3_600_000;
  private readonly versions = new Map<number, CivitaiVersion>();
  private readonly gates = new Map<number, Set<string>>();

  constructor(private readonly storage: FakeStorage) {
    super();
  }

  /** Publishes a version; with no file marked primary, the first is. Returns its files, in order. */
  addVersion(spec: CivitaiVersionSpec): FakeFile[] {
    const version = publishVersion(spec);
    this.versions.set(spec.versionId, version);
    return version.files.map((f) => f.file);
  }

  /** Early access or private: metadata and downloads need this token (Bearer, or ?token=). */
  gate(versionId: number, token: string): void {
    this.gates.set(versionId, (this.gates.get(versionId) ?? new Set()).add(token));
  }

  /** Requests to /api/v1/model-versions/ so far. */
  metadataCalls(): number {
    return this.requests.filter((r) => r.path.startsWith('/api/v1/model-versions/')).length;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://civitai');
    const method = req.method ?? 'GET';
    const authorization = req.headers.authorization;
    const record: CivitaiRequest = {
      method,
      path: url.pathname,
      search: url.search,
      authorization,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(record);
    const token = bearerToken(authorization) ?? url.searchParams.get('token') ?? undefined;
    const metadata = METADATA.exec(url.pathname);
    const download = DOWNLOAD.exec(url.pathname);
    if ((!metadata && !download) || (method !== 'GET' && method !== 'HEAD'))
      return answerJson(req, res, record, 404, { error: 'Not found' });

    if (metadata) {
      if (this.down) return answer(req, res, record, 503, { 'content-type': 'text/plain' }, 'Service Unavailable');
      await this.pause(this.metadataDelayMs);
      if (res.destroyed) return;
      const [, hash, id] = metadata;
      const version = id ? this.versions.get(Number(id)) : this.byHash(hash!);
      if (!version)
        return answerJson(req, res, record, 404, { error: id ? `No version with id ${id}` : 'Model not found' });
      if (this.refused(req, res, record, version.versionId, token)) return;
      const malformation = this.malformed === true ? 'files' : this.malformed || undefined;
      return answerJson(req, res, record, 200, versionJson(version, this.url, malformation));
    }

    const versionId = Number(download![1]);
    const version = this.versions.get(versionId);
    if (!version) return answerJson(req, res, record, 404, { error: `No version with id ${versionId}` });
    if (this.refused(req, res, record, versionId, token)) return;
    const param = (key: string) => url.searchParams.get(key) ?? undefined;
    const query = { type: param('type'), format: param('format'), size: param('size'), fp: param('fp') };
    const chosen = chooseFile(version.files, query);
    const location = this.storage.signedUrl(chosen.file, this.signedUrlTtlMs);
    answer(req, res, record, 307, { location });
  }

  private byHash(hash: string): CivitaiVersion | undefined {
    const wanted = hash.toUpperCase();
    return [...this.versions.values()].find((v) => v.files.some((f) => Object.values(f.hashes).includes(wanted)));
  }

  /** Answers 401 (no token) or 403 (another token) for a gated version; false when let through. */
  private refused(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: Answered,
    versionId: number,
    token: string | undefined,
  ): boolean {
    const allowed = this.gates.get(versionId);
    if (!allowed || (token !== undefined && allowed.has(token))) return false;
    answerJson(req, res, record, token === undefined ? 401 : 403, {
      error: token === undefined ? 'Unauthorized' : 'Forbidden',
    });
    return true;
  }
}
