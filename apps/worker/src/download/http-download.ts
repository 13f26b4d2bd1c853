import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { request, type Dispatcher } from 'undici';
import { ModelFetchError, redactUrl, type Logger } from '@model-manager/core';

const MAX_REDIRECTS = 10;
/** Writes go to disk in runs of at least this many bytes (the old module wrote 4 KiB at a time). */
const WRITE_BATCH_BYTES = 1024 * 1024;
const PROGRESS_INTERVAL_MS = 250;
const LOG_EVERY_BYTES = 100 * 1024 * 1024;

/** Statuses another attempt may get past; anything else 4xx fails at once. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export interface DownloadProgress {
  bytes: number;
  totalBytes: number | null;
  bytesPerSec: number;
}

export interface DownloadRequest {
  url: string;
  /** Staging file, created (or truncated) here. */
  destination: string;
  /** Lower-case hex; when set, a different hash fails with HASH_MISMATCH. */
  expectedSha256?: string;
  dispatcher: Dispatcher;
  signal?: AbortSignal;
  logger: Logger;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  finalUrl: string;
  contentDisposition: string | null;
  contentLength: number | null;
}

/**
 * Streams `url` into `destination`, hashing every chunk as it passes (no second read), writing
 * in runs of >= 1 MiB with the next run read while the last one is written. Follows redirects
 * itself so each hop is visible. Throws ModelFetchError with a stable code.
 */
export async function downloadToFile(req: DownloadRequest): Promise<DownloadResult> {
  const { response, finalUrl } = await openResponse(req);
  const body = response.body;
  const header = (name: string) => {
    const v = response.headers[name];
    return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
  };
  const lengthHeader = header('content-length');
  const contentLength = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;

  let fh: FileHandle;
  try {
    fh = await open(req.destination, 'w', 0o644);
  } catch (err) {
    await body.dump().catch(() => {});
    throw fileError(err, req.destination);
  }

  const hash = createHash('sha256');
  const started = Date.now();
  let bytes = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  let writeFailure: unknown;
  let lastProgress = 0;
  let nextLog = LOG_EVERY_BYTES;

  const flush = () => {
    const buffers = pending;
    pending = [];
    pendingBytes = 0;
    writing = writeAll(fh, buffers).catch((err: unknown) => {
      writeFailure = err;
    });
  };

  try {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= WRITE_BATCH_BYTES) {
          await writing; // at most one write in flight: memory stays bounded, reading overlaps writing
          if (writeFailure) throw writeFailure;
          flush();
        }
        const now = Date.now();
        if (req.onProgress && now - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = now;
          req.onProgress({ bytes, totalBytes: contentLength, bytesPerSec: rate(bytes, started, now) });
        }
        if (bytes >= nextLog) {
          nextLog += LOG_EVERY_BYTES;
          req.logger.info({ bytes, totalBytes: contentLength, bytesPerSec: rate(bytes, started, now) }, 'download progress');
        }
      }
    } catch (err) {
      if (err === writeFailure) throw fileError(err, req.destination);
      throw networkError(err, req.signal);
    }
    await writing;
    if (!writeFailure && pending.length > 0) {
      flush();
      await writing;
    }
    if (writeFailure) throw fileError(writeFailure, req.destination);
    try {
      // Durable before it is renamed into place: a crash must not publish a hole-filled file.
      await fh.sync();
    } catch (err) {
      throw fileError(err, req.destination);
    }
  } catch (err) {
    body.destroy();
    await writing.catch(() => {});
    throw err;
  } finally {
    await fh.close().catch(() => {});
  }

  req.onProgress?.({ bytes, totalBytes: contentLength, bytesPerSec: rate(bytes, started, Date.now()) });
  if (contentLength !== null && bytes !== contentLength) {
    throw new ModelFetchError('SIZE_MISMATCH', `received ${bytes} bytes but Content-Length said ${contentLength}`, true);
  }
  if (bytes === 0) throw new ModelFetchError('EMPTY_FILE', 'the origin sent an empty body', false);
  const sha256 = hash.digest('hex');
  if (req.expectedSha256 && sha256 !== req.expectedSha256.toLowerCase()) {
    throw new ModelFetchError('HASH_MISMATCH', `sha256 is ${sha256}, expected ${req.expectedSha256.toLowerCase()}`, false);
  }
  return { bytes, sha256, finalUrl, contentDisposition: header('content-disposition'), contentLength };
}

async function openResponse(req: DownloadRequest): Promise<{ response: Dispatcher.ResponseData; finalUrl: string }> {
  let current = req.url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(current, {
        method: 'GET',
        dispatcher: req.dispatcher,
        signal: req.signal,
        headers: { 'user-agent': 'model-manager/0.1', accept: '*/*' },
      });
    } catch (err) {
      throw networkError(err, req.signal);
    }
    const status = response.statusCode;
    if (status >= 300 && status < 400 && status !== 304) {
      const location = response.headers.location;
      await response.body.dump().catch(() => {});
      if (typeof location !== 'string' || !location) {
        throw new ModelFetchError('HTTP_ERROR', `HTTP ${status} redirect without a Location header`, false, status);
      }
      current = new URL(location, current).toString();
      req.logger.debug({ url: current, status }, 'following redirect');
      continue;
    }
    if (status < 200 || status > 299) {
      await response.body.dump().catch(() => {});
      throw new ModelFetchError(
        'HTTP_ERROR',
        `HTTP ${status} from ${redactUrl(current)}`,
        RETRYABLE_STATUS.has(status),
        status,
      );
    }
    return { response, finalUrl: current };
  }
  throw new ModelFetchError('HTTP_ERROR', `more than ${MAX_REDIRECTS} redirects`, false);
}

async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
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

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function networkError(err: unknown, signal?: AbortSignal): ModelFetchError {
  if (err instanceof ModelFetchError) return err;
  if (signal?.aborted) return new ModelFetchError('SHUTDOWN', 'download stopped: the worker is shutting down', true);
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code ?? '';
  if (TIMEOUT_CODES.has(code)) {
    const what =
      code === 'UND_ERR_BODY_TIMEOUT'
        ? 'no body bytes arrived within the idle timeout'
        : code === 'UND_ERR_HEADERS_TIMEOUT'
          ? 'no response headers within the timeout'
          : 'could not connect within the timeout';
    return new ModelFetchError('TIMEOUT', `${what} (${code})`, true);
  }
  return new ModelFetchError('NETWORK_ERROR', `${e?.message ?? String(err)}${code ? ` (${code})` : ''}`, true);
}

function fileError(err: unknown, file: string): ModelFetchError {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new ModelFetchError('DISK_FULL', `no space left on the volume while writing ${file}`, true);
  }
  return new ModelFetchError('WRITE_ERROR', `could not write ${file}: ${e?.message ?? String(err)}`, true);
}
