import { open, type FileHandle } from 'node:fs/promises';
import { request, type Dispatcher } from 'undici';
import { ModelFetchError, checkSourceUrl, redactUrl, type Logger, type NetworkPolicy } from '@model-manager/core';
import { isHtmlContentType, looksLikeHtml } from './content-checks.js';
import { FileHasher, hashOnThread } from './file-hasher.js';
import { canSegment, downloadSegmented } from './segmented-download.js';
import type { StagingFile } from './staging.js';

const MAX_REDIRECTS = 10;
/** Writes go to disk in runs of at least this many bytes (the old module wrote 4 KiB at a time)... */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** ...or at least this often, so a slow download killed hard loses little to resume. */
const WRITE_EVERY_MS = 1000;
/**
 * Every this many bytes written, the data so far is flushed to the disk in the background, so
 * the fsync before publishing has only the tail left instead of the whole file.
 */
const SYNC_EVERY_BYTES = 128 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 250;
const LOG_EVERY_BYTES = 100 * 1024 * 1024;

/**
 * Fault injection for tests on machines where no small filesystem can be mounted (not root):
 * writes fail with ENOSPC once a staging file would pass this many bytes. Unset in production.
 */
const INJECT_ENOSPC_AFTER = Number(process.env.MODEL_MANAGER_TEST_ENOSPC_AFTER_BYTES ?? 0);

/** Statuses another attempt may get past. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export interface DownloadProgress {
  bytes: number;
  totalBytes: number | null;
  bytesPerSec: number;
}

export interface DownloadRequest {
  /** The URL to fetch in this attempt, as sent (may carry a query token). */
  url: string;
  /** Index of `url` among the job's sources; resume only continues bytes of the same source. */
  sourceIndex: number;
  staging: StagingFile;
  /** Lower-case hex; when set, a different hash fails with HASH_MISMATCH. */
  expectedSha256?: string;
  dispatcher: Dispatcher;
  signal?: AbortSignal;
  logger: Logger;
  /** The Authorization header for one hop (its URL, and the URL the request started at). */
  authorization?: (url: string, startedAt: string) => string | undefined;
  /** Called once the response is known to be a model body, with the bytes it will write. May throw DISK_FULL. */
  beforeWrite?: (remainingBytes: number | null) => Promise<void>;
  /**
   * Called once a response is known to be the file, before a byte is written: may refuse it
   * (too large, a format not allowed) by throwing.
   */
  checkResponse?: (response: { finalUrl: string; contentDisposition: string | null; totalBytes: number | null }) => void;
  /** A body that runs past this many bytes is cut off and fails with TOO_LARGE. */
  maxBytes?: number;
  /** Checked before every write (fencing); throws to stop. */
  assertMayWrite?: () => void;
  onProgress?: (progress: DownloadProgress) => void;
  /** Parallel range requests for a large file (1: never). */
  segments?: number;
  /** Files smaller than this are fetched over one connection. */
  segmentMinBytes?: number;
  /** Hosts and addresses allowed, checked on every hop (the agent checks addresses after DNS). */
  networkPolicy?: NetworkPolicy;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  finalUrl: string;
  contentDisposition: string | null;
  /** Bytes that were already in the staging file and were not downloaded again. */
  resumedFrom: number;
  /** Parallel range requests used; absent for a download over one connection. */
  segments?: number;
}

export interface Opened {
  response: Dispatcher.ResponseData;
  finalUrl: string;
  header: (name: string) => string | null;
}

/**
 * Streams the model into the job's staging file, continuing from the bytes already there when
 * the origin can (Range + If-Range with the validator of the first response). SHA-256 covers
 * the whole file, computed on the hashing thread right behind the writes (FileHasher), the kept
 * prefix while the rest downloads. Writes go
 * out in runs of >= 1 MiB, the next run read while the last is written. Redirects are followed
 * here so every hop gets its own Authorization (or none). Throws ModelFetchError.
 */
export async function downloadToFile(req: DownloadRequest): Promise<DownloadResult> {
  const meta = await req.staging.readMeta();
  if (meta?.pieces && meta.sourceIndex === req.sourceIndex && (req.segments ?? 1) > 1) {
    return downloadSegmented(req, { meta });
  }
  let offset = meta?.pieces ? 0 : await req.staging.size();
  const validator = meta?.etag ?? meta?.lastModified;
  if (!(offset > 0 && meta && meta.sourceIndex === req.sourceIndex && validator)) offset = 0;

  if (offset > 0 && meta?.totalBytes === offset) {
    // Every byte is already here (the last attempt ended after the download, before publishing):
    // verify what is on disk instead of asking the origin again.
    let digest: string;
    try {
      digest = await hashOnThread(req.staging.partPath, offset);
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
    const sha256 = verifyHash(digest, req.expectedSha256, true);
    req.logger.info({ bytes: offset }, 'staged file already complete; verified it instead of downloading again');
    return { bytes: offset, sha256, finalUrl: meta.finalUrl ?? req.url, contentDisposition: meta.contentDisposition ?? null, resumedFrom: offset };
  }

  let opened = await openResponse(req, offset > 0 ? { from: offset, ifRange: validator! } : undefined);
  let status = opened.response.statusCode;
  if (offset > 0) {
    const range = parseContentRange(opened.header('content-range'));
    if (status !== 206 || !range || range.start !== offset) {
      // 200: the range was ignored or the file changed (If-Range). Anything else odd: start over.
      if (status !== 200) {
        await opened.response.body.dump().catch(() => {});
        opened = await openResponse(req, undefined);
        status = opened.response.statusCode;
      }
      req.logger.info({ had: offset, status }, 'origin did not continue the partial download; starting over');
      offset = 0;
    }
  }
  const { response, finalUrl, header } = opened;
  const body = response.body;

  if (isHtmlContentType(header('content-type'))) {
    await body.dump().catch(() => {});
    throw notAModel(`the origin answered an HTML page (Content-Type: ${header('content-type')}), not a model file; a login or error page?`);
  }
  const lengthHeader = header('content-length');
  const contentLength = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  try {
    const total = status === 206 ? (parseContentRange(header('content-range'))?.total ?? null) : contentLength;
    req.checkResponse?.({ finalUrl, contentDisposition: header('content-disposition'), totalBytes: total });
  } catch (err) {
    await body.dump().catch(() => {});
    throw err;
  }
  if (offset === 0 && status === 200 && !meta?.noSegments && canSegment(req, header, contentLength)) {
    return downloadSegmented(req, { first: opened, totalBytes: contentLength!, deadSources: meta?.deadSources });
  }
  // Read the body from now on, whatever else is awaited: see BodyQueue for why.
  const queue = new BodyQueue(body, READ_AHEAD_BYTES, closes(header));
  const totalBytes =
    status === 206 ? (parseContentRange(header('content-range'))?.total ?? null) : contentLength;

  let fh: FileHandle;
  try {
    await req.beforeWrite?.(contentLength);
    try {
      if (offset > 0) {
        fh = await req.staging.openForWrite(true);
        await fh.truncate(offset);
      } else {
        // Emptied before the new validator is recorded: old bytes never sit beside a new ETag.
        fh = await req.staging.openForWrite(false);
      }
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
    if (offset === 0) {
      await req.staging.writeMeta({
        source: redactUrl(req.url),
        sourceIndex: req.sourceIndex,
        ...(meta?.deadSources ? { deadSources: meta.deadSources } : {}),
        ...(header('etag') && !/^W\//.test(header('etag')!) ? { etag: header('etag')! } : {}),
        ...(header('last-modified') ? { lastModified: header('last-modified')! } : {}),
        totalBytes,
        contentDisposition: header('content-disposition'),
        finalUrl,
        updatedAt: Date.now(),
      });
    }
  } catch (err) {
    queue.discard();
    throw err;
  }
  // The kept prefix is hashed on the hashing thread while the rest downloads.
  const hasher = new FileHasher(req.staging.partPath);
  hasher.advance(offset);
  if (offset > 0) req.logger.info({ resumedFrom: offset, totalBytes }, 'resuming download');

  const started = Date.now();
  let received = 0;
  let sniffed: Buffer = Buffer.alloc(0);
  let position = offset;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  let writeFailure: unknown;
  // The first report waits an interval too: a speed over one chunk's microseconds reads 0 B/s.
  let lastProgress = started;
  let nextLog = offset + LOG_EVERY_BYTES;
  const total = () => offset + received;

  let digest = '';
  let lastFlush = Date.now();
  let syncing: Promise<void> | undefined;
  let syncedUpTo = offset;
  const flush = () => {
    req.assertMayWrite?.();
    lastFlush = Date.now();
    const buffers = pending;
    const at = position;
    position += pendingBytes;
    pending = [];
    pendingBytes = 0;
    const end = position;
    writing = writeAll(fh, buffers, at)
      .then(() => {
        hasher.advance(end);
        if (!syncing && position - syncedUpTo >= SYNC_EVERY_BYTES) {
          syncedUpTo = position;
          // Errors surface in the final sync below; this one only spreads the flushing out.
          syncing = fh.datasync().catch(() => {}).finally(() => {
            syncing = undefined;
          });
        }
      })
      .catch((err: unknown) => {
        writeFailure = err;
      });
  };

  try {
    try {
      for (let chunks = await queue.take(); chunks; chunks = await queue.take()) {
        for (const chunk of chunks) {
          if (offset === 0 && received < SNIFF_BYTES) {
            // The first bytes may come in several small chunks: look at up to 512 of them together.
            sniffed = Buffer.concat([sniffed, chunk]).subarray(0, SNIFF_BYTES);
            if (looksLikeHtml(sniffed)) throw notAModel('the body is an HTML page, not a model file; a login or error page?');
          }
          received += chunk.length;
          if (req.maxBytes !== undefined && offset + received > req.maxBytes) throw tooLarge(`the body ran past ${req.maxBytes} bytes (MAX_MODEL_BYTES)`);
          pending.push(chunk);
          pendingBytes += chunk.length;
        }
        const now = Date.now();
        if (pendingBytes >= WRITE_BATCH_BYTES || now - lastFlush >= WRITE_EVERY_MS) {
          await writing; // at most one write in flight; the body keeps flowing into the queue meanwhile
          if (writeFailure) throw writeFailure;
          flush();
        }
        if (req.onProgress && now - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = now;
          req.onProgress({ bytes: total(), totalBytes, bytesPerSec: rate(received, started, now) });
        }
        if (total() >= nextLog) {
          nextLog += LOG_EVERY_BYTES;
          req.logger.info({ bytes: total(), totalBytes, bytesPerSec: rate(received, started, now) }, 'download progress');
        }
      }
    } catch (err) {
      if (err === writeFailure) throw fileError(err, req.staging.partPath);
      const failure = networkError(err, req.signal);
      if (failure.code === 'NETWORK_ERROR' && contentLength !== null && received < contentLength) {
        throw new ModelFetchError('SIZE_MISMATCH', `connection closed after ${received} of ${contentLength} bytes (${failure.message})`, true);
      }
      throw failure;
    }
    await writing;
    if (!writeFailure && pending.length > 0) {
      flush();
      await writing;
    }
    if (writeFailure) throw fileError(writeFailure, req.staging.partPath);
    try {
      // Durable before it is renamed into place: a crash must not publish a hole-filled file.
      // The hashing thread finishes the tail meanwhile.
      await syncing;
      [digest] = await Promise.all([hasher.finish(total()), fh.sync()]);
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
  } catch (err) {
    queue.discard();
    await writing.catch(() => {});
    await syncing;
    // Bytes received before a reset, a stall or a shutdown are good: keep them for the resume.
    // Not after a write failure or a lost lease (someone else may own the file now).
    const code = (err as ModelFetchError).code;
    if (!writeFailure && pending.length > 0 && code !== 'LOCK_LOST' && code !== 'NOT_A_MODEL') {
      try {
        flush();
        await writing;
      } catch {
        /* the lease says no: leave the file alone */
      }
    }
    throw err;
  } finally {
    hasher.abort();
    await fh.close().catch(() => {});
  }

  req.onProgress?.({ bytes: total(), totalBytes, bytesPerSec: rate(received, started, Date.now()) });
  if (contentLength !== null && received !== contentLength) {
    throw new ModelFetchError('SIZE_MISMATCH', `received ${received} bytes but Content-Length said ${contentLength}`, true);
  }
  if (totalBytes !== null && total() !== totalBytes) {
    throw new ModelFetchError('SIZE_MISMATCH', `file is ${total()} bytes but the origin said ${totalBytes}`, true);
  }
  if (total() === 0) throw new ModelFetchError('EMPTY_FILE', 'the origin sent an empty body', true);
  const sha256 = verifyHash(digest, req.expectedSha256, offset > 0);
  return { bytes: total(), sha256, finalUrl, contentDisposition: header('content-disposition'), resumedFrom: offset };
}

/**
 * The file's SHA-256, compared with the requested one. When some bytes came from an earlier
 * attempt, those kept bytes could be what is wrong: a mismatch then gets one fresh download.
 */
export function verifyHash(sha256: string, expected: string | undefined, resumed: boolean): string {
  if (expected && sha256 !== expected.toLowerCase()) {
    throw new ModelFetchError(
      'HASH_MISMATCH',
      `sha256 is ${sha256}, expected ${expected.toLowerCase()}${resumed ? ' (partly from an earlier attempt; trying once more from scratch)' : ''}`,
      resumed,
    );
  }
  return sha256;
}

/** How much of a body's beginning is checked for an HTML page. */
const SNIFF_BYTES = 512;

/** The response ends its connection (`Connection: close`). */
export const closes = (header: (name: string) => string | null) => /\bclose\b/i.test(header('connection') ?? '');

/** Bytes read ahead of the disk before the body is paused. */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * Reads a response body as it arrives and hands it over in batches. undici 7 crashes the whole
 * process (an uncatchable assertion, nodejs/undici#5360, fixed only in undici 8) when a body is
 * paused for backpressure at the moment a `Connection: close` origin ends the socket. So the body
 * flows freely from the first byte, through awaits and slow writes alike, and is paused only
 * when READ_AHEAD_BYTES pile up (a disk much slower than the network).
 */
export class BodyQueue {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private ended = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  constructor(
    private readonly body: Dispatcher.ResponseData['body'],
    readAhead = READ_AHEAD_BYTES,
    /** The response said `Connection: close`: the case that crashes, so it is never paused. */
    closing = false,
  ) {
    if (closing) readAhead = Infinity;
    body.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      if (this.bytes >= readAhead) body.pause();
      this.wake?.();
    });
    body.once('end', () => {
      this.ended = true;
      this.wake?.();
    });
    body.on('error', (err) => {
      this.error = err;
      this.wake?.();
    });
  }

  /** Everything received so far (waiting for at least one chunk); null at the end of the body. */
  async take(): Promise<Buffer[] | null> {
    while (this.chunks.length === 0) {
      if (this.error) throw this.error;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    if (this.body.isPaused() && !this.ended) this.body.resume();
    return chunks;
  }

  /** Stops reading and drops what is buffered. */
  discard(): void {
    this.chunks = [];
    this.body.destroy();
  }
}

export async function openResponse(
  req: DownloadRequest,
  range: { from: number; to?: number; ifRange: string } | undefined,
): Promise<Opened> {
  let current = req.url;
  // Once a redirect has left the starting host (or dropped from https to http), no later hop
  // gets a token, even one that comes back.
  let leftStart = false;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'model-manager/0.1', accept: '*/*' };
    if (req.networkPolicy) {
      const refused = checkSourceUrl(current, req.networkPolicy);
      if (refused) throw new ModelFetchError(refused.code, hop > 0 ? `redirected to a refused source: ${refused.message}` : refused.message, false);
    }
    const here = new URL(current);
    const start = new URL(req.url);
    if (here.host !== start.host || (start.protocol === 'https:' && here.protocol !== 'https:')) leftStart = true;
    const authorization = leftStart ? undefined : req.authorization?.(current, req.url);
    if (authorization) headers.authorization = authorization;
    if (range) {
      headers.range = `bytes=${range.from}-${range.to ?? ''}`;
      headers['if-range'] = range.ifRange;
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await request(current, { method: 'GET', dispatcher: req.dispatcher, signal: req.signal, headers });
    } catch (err) {
      throw networkError(err, req.signal);
    }
    const status = response.statusCode;
    const header = (name: string) => {
      const v = response.headers[name];
      return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
    };
    if (status >= 300 && status < 400 && status !== 304) {
      const location = header('location');
      await response.body.dump().catch(() => {});
      if (!location) throw new ModelFetchError('HTTP_ERROR', `HTTP ${status} redirect without a Location header`, false, status);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new ModelFetchError('HTTP_ERROR', `HTTP ${status} redirect to an unreadable Location`, false, status);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ModelFetchError('HTTP_ERROR', `HTTP ${status} redirect to a ${next.protocol} URL`, false, status);
      }
      current = next.toString();
      req.logger.debug({ url: current, status }, 'following redirect');
      continue;
    }
    if ((status >= 200 && status <= 299) || (range && range.to === undefined && status === 416)) {
      if (status === 416) {
        await response.body.dump().catch(() => {});
        return openResponse(req, undefined);
      }
      return { response, finalUrl: current, header };
    }
    await response.body.dump().catch(() => {});
    const leftHost = hop > 0 && new URL(current).host !== new URL(req.url).host;
    throw statusError(status, current, leftHost, header('retry-after'));
  }
  throw new ModelFetchError('HTTP_ERROR', `more than ${MAX_REDIRECTS} redirects`, false);
}

function statusError(status: number, url: string, redirectedAway: boolean, retryAfter: string | null): ModelFetchError {
  const where = redactUrl(url);
  if (status === 401) {
    return new ModelFetchError(
      'AUTH_REQUIRED',
      `HTTP 401 from ${where}: the origin wants a token (set CIVITAI_TOKEN, HF_TOKEN or AUTH_HEADERS for this host)`,
      false,
      status,
    );
  }
  if (status === 403 && redirectedAway) {
    // A storage host we were redirected to: typically a signed URL that expired. The next
    // attempt resolves it again from the original URL.
    return new ModelFetchError('HTTP_ERROR', `HTTP 403 from redirect target ${where} (expired signed URL?)`, true, status, {
      expiredRedirect: true,
    });
  }
  if (status === 403) {
    return new ModelFetchError('FORBIDDEN', `HTTP 403 from ${where}: access denied (token lacks access, or a gated model not accepted?)`, false, status);
  }
  if (status === 404 || status === 410) {
    return new ModelFetchError('HTTP_ERROR', `HTTP ${status} from ${where}`, false, status, { notFound: true });
  }
  const retryAfterMs = parseRetryAfter(retryAfter);
  return new ModelFetchError(
    'HTTP_ERROR',
    `HTTP ${status} from ${where}${retryAfterMs !== undefined ? ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)` : ''}`,
    RETRYABLE_STATUS.has(status),
    status,
    retryAfterMs !== undefined ? { retryAfterMs } : {},
  );
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** `bytes START-END/TOTAL` (TOTAL may be `*`). */
export function parseContentRange(value: string | null): { start: number; end: number; total: number | null } | null {
  const m = value ? /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

export async function writeAll(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  if (INJECT_ENOSPC_AFTER > 0 && at + buffers.reduce((n, b) => n + b.length, 0) > INJECT_ENOSPC_AFTER) {
    throw Object.assign(new Error('ENOSPC: no space left on device (injected for a test)'), { code: 'ENOSPC' });
  }
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, at);
    at += bytesWritten;
    let left = bytesWritten;
    let i = 0;
    while (i < rest.length && left >= rest[i]!.length) left -= rest[i++]!.length;
    rest = rest.slice(i);
    if (left > 0 && rest[0]) rest[0] = rest[0].subarray(left);
  }
}

function rate(bytes: number, started: number, now: number): number {
  const seconds = (now - started) / 1000;
  return seconds > 0 ? Math.round(bytes / seconds) : 0;
}

export const notAModel = (why: string) => new ModelFetchError('NOT_A_MODEL', why, false);
export const tooLarge = (why: string) => new ModelFetchError('TOO_LARGE', why, false);

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function networkError(err: unknown, signal?: AbortSignal): ModelFetchError {
  if (err instanceof ModelFetchError) return err;
  if (signal?.aborted) {
    const reason = signal.reason as unknown;
    if (reason instanceof ModelFetchError) return reason;
    return new ModelFetchError('SHUTDOWN', 'download stopped: the worker is shutting down', true);
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code ?? '';
  if (code === 'PRIVATE_ADDRESS') return new ModelFetchError('PRIVATE_ADDRESS', (e.code ? e : e.cause!).message, false);
  if (TIMEOUT_CODES.has(code)) {
    const what =
      code === 'UND_ERR_BODY_TIMEOUT'
        ? 'stalled: no body bytes arrived within DOWNLOAD_IDLE_TIMEOUT'
        : code === 'UND_ERR_HEADERS_TIMEOUT'
          ? 'no response headers within the timeout'
          : 'could not connect within the timeout';
    return new ModelFetchError('TIMEOUT', `${what} (${code})`, true);
  }
  return new ModelFetchError('NETWORK_ERROR', `${e?.message ?? String(err)}${code ? ` (${code})` : ''}`, true);
}

export function fileError(err: unknown, file: string): ModelFetchError {
  if (err instanceof ModelFetchError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new ModelFetchError('DISK_FULL', `no space left on the volume while writing ${file}`, false);
  }
  return new ModelFetchError('WRITE_ERROR', `could not write ${file}: ${e?.message ?? String(err)}`, true);
}
