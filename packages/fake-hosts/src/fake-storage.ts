import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import { attachment } from './content-disposition.js';
import type { FakeFile } from './fake-file.js';
import { LoopbackServer } from './loopback-server.js';
import { s3Error } from './s3-error.js';
import { sendBody } from './send-body.js';
import { urlSignature, validSignature } from './url-signing.js';

export interface StorageRequest {
  path: string;
  method: string;
  range?: string;
  status: number;
  at: number;
  /** The file served, once the URL checked out. */
  name?: string;
}

interface Blob {
  file: FakeFile;
  bytes: Buffer;
  etag: string;
}

/** The same file (content and name) gets the same blob id, so its URLs are stable across instances. */
const blobId = (file: FakeFile) =>
  createHash('sha256').update(`${file.sha256}\n${file.name}`).digest('hex').slice(0, 32);
/** S3 and R2 send the MD5 of the object as its ETag. */
const md5Etag = (bytes: Buffer) => `"${createHash('md5').update(bytes).digest('hex')}"`;

/**
 * The object store the hosts redirect to: files by opaque signed path, with Range/If-Range, ETag,
 * Accept-Ranges and Content-Disposition. A URL past its expiry, or with a bad signature, gets 403.
 */
export class FakeStorage extends LoopbackServer {
  readonly requests: StorageRequest[] = [];
  private readonly blobs = new Map<string, Blob>();
  private readonly sent = new Map<string, number>();
  private readonly key = randomBytes(32);

  /** An absolute URL (once started) for the file, valid for `ttlMs`. */
  signedUrl(file: FakeFile, ttlMs = 3_600_000): string {
    const id = this.put(file);
    const expires = Date.now() + ttlMs;
    return `${this.url}/blob/${id}?expires=${expires}&sig=${urlSignature(this.key, id, expires)}`;
  }

  /** Serves `bytes` for the file from now on, whatever the hosts publish about it. */
  tamper(file: FakeFile, bytes: Buffer): void {
    this.blobs.set(blobId(file), { file, bytes, etag: md5Etag(bytes) });
  }

  /** Body bytes written for files of that name so far. */
  bytesSent(name: string): number {
    return this.sent.get(name) ?? 0;
  }

  private put(file: FakeFile): string {
    const id = blobId(file);
    if (!this.blobs.has(id)) this.blobs.set(id, { file, bytes: file.body, etag: md5Etag(file.body) });
    return id;
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://storage');
    const method = req.method ?? 'GET';
    const record: StorageRequest = { path: url.pathname, method, range: req.headers.range, status: 0, at: Date.now() };
    this.requests.push(record);
    const found = this.lookUp(method, url);
    if (!('blob' in found)) {
      s3Error(req, res, record, ...found.refused);
      return;
    }
    const name = found.blob.file.name;
    record.name = name;
    sendBody(req, res, record, {
      bytes: found.blob.bytes,
      etag: found.blob.etag,
      headers: { 'content-type': 'application/octet-stream', 'content-disposition': attachment(name) },
      onBytes: (n) => this.sent.set(name, this.bytesSent(name) + n),
    });
  }

  /** The blob a signed URL names, or why not, in the order S3 checks. */
  private lookUp(method: string, url: URL): { blob: Blob } | { refused: [number, string, string] } {
    if (method !== 'GET' && method !== 'HEAD')
      return { refused: [405, 'MethodNotAllowed', 'The specified method is not allowed'] };
    const id = /^\/blob\/([0-9a-f]+)$/.exec(url.pathname)?.[1];
    const expires = Number(url.searchParams.get('expires'));
    const signature = url.searchParams.get('sig');
    if (!id || !signature || !Number.isSafeInteger(expires))
      return { refused: [403, 'AccessDenied', 'Query-string authentication requires a signature'] };
    if (!validSignature(this.key, id, expires, signature))
      return { refused: [403, 'SignatureDoesNotMatch', 'The request signature does not match'] };
    if (Date.now() > expires) return { refused: [403, 'AccessDenied', 'Request has expired'] };
    const blob = this.blobs.get(id);
    return blob ? { blob } : { refused: [404, 'NoSuchKey', 'The specified key does not exist.'] };
  }
}
