import { open, type FileHandle } from 'node:fs/promises';
import { ModelFetchError, redactUrl } from '@model-manager/core';
import {
  BodyQueue,
  closes,
  fileError,
  networkError,
  openResponse,
  parseContentRange,
  verifyHash,
  writeAll,
  type DownloadRequest,
  type DownloadResult,
  type Opened,
} from './http-download.js';
import { FileHasher } from './file-hasher.js';
import type { StagingMeta } from './staging.js';

const MiB = 1024 * 1024;
/** Tries of one piece within an attempt before the attempt fails (and resumes later). */
const PIECE_TRIES = 3;
/** Read-ahead per piece connection: with up to SEGMENTS of them per download, less than one stream's. */
const PIECE_READ_AHEAD = 1024 * 1024;
const META_EVERY_MS = 1000;

/** A file worth splitting: ranges served, a validator to keep them consistent, large enough. */
export function canSegment(req: DownloadRequest, header: (name: string) => string | null, contentLength: number | null): boolean {
  const segments = req.segments ?? 1;
  if (segments < 2 || contentLength === null || contentLength < (req.segmentMinBytes ?? 64 * MiB)) return false;
  if (!/\bbytes\b/i.test(header('accept-ranges') ?? '')) return false;
  const etag = header('etag');
  return (!!etag && !/^W\//.test(etag)) || !!header('last-modified');
}

/**
 * Pieces are taken in order, so the hashed prefix trails the download by about `segments`
 * pieces; when the last pieces land together, that much is left to hash. Small pieces keep
 * that tail short; 4 MiB keeps the cost of a request per piece negligible.
 */
function pieceSizeFor(total: number, segments: number): number {
  const size = Math.ceil(total / (segments * 16) / MiB) * MiB;
  return Math.min(32 * MiB, Math.max(4 * MiB, size));
}

/** The origin's file changed (or it stopped serving ranges): the pieces no longer fit together. */
class RestartNeeded extends Error {}

/**
 * Fetches a large file as pieces over `segments` parallel range requests (If-Range with the
 * first response's validator), each written in place. Progress per piece is kept in the staging
 * metadata, so a reset piece re-fetches only its own remainder, in this attempt or a later one.
 * SHA-256 follows the contiguous prefix as it grows, read back from the page cache on the
 * hashing thread (FileHasher), and is verified before the caller publishes the file.
 */
export async function downloadSegmented(
  req: DownloadRequest,
  from: { first: Opened; totalBytes: number; deadSources?: number[] } | { meta: StagingMeta },
): Promise<DownloadResult> {
  const segments = req.segments ?? 8;
  const first = 'first' in from ? from.first : undefined;
  const previous = 'meta' in from ? from.meta : undefined;
  const total = 'first' in from ? from.totalBytes : previous!.totalBytes!;
  const etag = first ? first.header('etag') : (previous!.etag ?? null);
  const validator = first ? (etag && !/^W\//.test(etag) ? etag : first.header('last-modified')!) : (previous!.etag ?? previous!.lastModified!);
  const pieceSize = previous?.pieceSize ?? pieceSizeFor(total, segments);
  const count = Math.ceil(total / pieceSize);
  const lengthOf = (i: number) => Math.min(pieceSize, total - i * pieceSize);
  // Progress is trusted only as far as the staging file really reaches.
  const onDisk = previous ? await req.staging.size() : 0;
  const done: number[] = Array.from({ length: count }, (_, i) =>
    previous?.pieces?.length === count ? Math.max(0, Math.min(previous.pieces[i] ?? 0, lengthOf(i), onDisk - i * pieceSize)) : 0,
  );
  const resumedFrom = done.reduce((n, d) => n + d, 0);
  const deadSources = 'first' in from ? from.deadSources : previous!.deadSources;
  const meta: StagingMeta = {
    source: redactUrl(req.url),
    sourceIndex: req.sourceIndex,
    ...(deadSources ? { deadSources } : {}),
    ...(first
      ? {
          ...(etag && !/^W\//.test(etag) ? { etag } : {}),
          ...(first.header('last-modified') ? { lastModified: first.header('last-modified')! } : {}),
          contentDisposition: first.header('content-disposition'),
          finalUrl: first.finalUrl,
        }
      : { etag: previous!.etag, lastModified: previous!.lastModified, contentDisposition: previous!.contentDisposition, finalUrl: previous!.finalUrl }),
    totalBytes: total,
    pieceSize,
    pieces: done,
    updatedAt: Date.now(),
  };
  const saveMeta = () => req.staging.writeMeta({ ...meta, pieces: [...done], updatedAt: Date.now() });

  let fh: FileHandle | undefined;
  let hasher: FileHasher | undefined;
  const controller = new AbortController();
  const signal = req.signal ? AbortSignal.any([req.signal, controller.signal]) : controller.signal;
  const firstQueue = first ? new BodyQueue(first.response.body, PIECE_READ_AHEAD, closes(first.header)) : undefined;
  let metaTimer: NodeJS.Timeout | undefined;
  let keepMeta = true;
  try {
    await saveMeta();
    await req.beforeWrite?.(total - resumedFrom);
    try {
      fh = await req.staging.openForWrite(!!previous && onDisk > 0);
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
    if (resumedFrom > 0) req.logger.info({ resumedFrom, totalBytes: total, pieces: count }, 'resuming segmented download');
    else req.logger.info({ totalBytes: total, pieces: count, segments }, 'segmented download');
    metaTimer = setInterval(() => void saveMeta().catch(() => {}), META_EVERY_MS);

    // SHA-256 of the contiguous prefix (complete pieces plus the front piece's bytes so far),
    // computed on the hashing thread as the prefix grows.
    hasher = new FileHasher(req.staging.partPath);
    let front = 0;
    const advanceHash = () => {
      while (front < count && done[front] === lengthOf(front)) front++;
      hasher!.advance(front * pieceSize + (front < count ? done[front]! : 0));
    };
    advanceHash();

    const started = Date.now();
    // The first report waits an interval too, so its speed is measured over more than one chunk.
    let lastProgress = started;
    const speed = (bytes: number, now: number) => Math.round((bytes - resumedFrom) / Math.max(0.001, (now - started) / 1000));
    const progress = () => {
      const now = Date.now();
      if (!req.onProgress || now - lastProgress < 250) return;
      lastProgress = now;
      const bytes = done.reduce((n, d) => n + d, 0);
      req.onProgress({ bytes, totalBytes: total, bytesPerSec: speed(bytes, now) });
    };

    /** Streams one response into piece `i` from its current progress; stops at the piece's end. */
    const fill = async (i: number, queue: BodyQueue) => {
      const end = lengthOf(i);
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        req.assertMayWrite?.();
        const buffers = pending;
        const bytes = pendingBytes;
        pending = [];
        pendingBytes = 0;
        try {
          await writeAll(fh!, buffers, i * pieceSize + done[i]!);
        } catch (err) {
          throw fileError(err, req.staging.partPath);
        }
        done[i]! += bytes;
        if (i <= front) advanceHash();
        progress();
      };
      try {
        for (let chunks = await queue.take(); chunks; chunks = await queue.take()) {
          for (let chunk of chunks) {
            const room = end - done[i]! - pendingBytes;
            if (chunk.length > room) chunk = chunk.subarray(0, room);
            pending.push(chunk);
            pendingBytes += chunk.length;
          }
          if (done[i]! + pendingBytes >= end) break;
          if (pendingBytes >= MiB) await flush();
        }
        await flush();
      } catch (err) {
        await flush().catch(() => {}); // what arrived is good: keep it for the next try
        throw err instanceof ModelFetchError ? err : networkError(err, signal);
      } finally {
        queue.discard();
      }
      if (done[i]! < end) {
        throw new ModelFetchError('SIZE_MISMATCH', `piece ${i} ended after ${done[i]} of ${end} bytes`, true);
      }
    };

    const fetchPiece = async (i: number) => {
      for (let tryNo = 1; ; tryNo++) {
        const from = i * pieceSize + done[i]!;
        const to = i * pieceSize + lengthOf(i) - 1;
        try {
          const opened = await openResponse({ ...req, signal }, { from, to, ifRange: validator });
          const range = parseContentRange(opened.header('content-range'));
          if (opened.response.statusCode !== 206 || !range || range.start !== from) {
            await opened.response.body.dump().catch(() => {});
            throw new RestartNeeded(`the origin answered ${opened.response.statusCode} to a range request (the file changed?)`);
          }
          await fill(i, new BodyQueue(opened.response.body, PIECE_READ_AHEAD, closes(opened.header)));
          return;
        } catch (err) {
          if (err instanceof RestartNeeded || signal.aborted) throw err;
          const failure = err instanceof ModelFetchError ? err : networkError(err, signal);
          if (!failure.retryable || tryNo >= PIECE_TRIES) throw failure;
          req.logger.info({ piece: i, try: tryNo, code: failure.code, at: done[i] }, 'piece failed; fetching its remainder again');
          await new Promise((r) => setTimeout(r, 200 * tryNo));
        }
      }
    };

    // Pieces in order; the first response, if any, already carries piece 0.
    const queueOfPieces = done.map((d, i) => i).filter((i) => done[i]! < lengthOf(i));
    const runners: Array<Promise<void>> = [];
    if (firstQueue && queueOfPieces[0] === 0) {
      queueOfPieces.shift();
      runners.push(fill(0, firstQueue).catch(async (err) => {
        if (signal.aborted) throw err;
        await fetchPiece(0); // the first response broke: the usual path takes over
      }));
    } else firstQueue?.discard();
    let failure: unknown;
    const runner = async () => {
      for (let i = queueOfPieces.shift(); i !== undefined && !failure; i = queueOfPieces.shift()) {
        try {
          await fetchPiece(i);
        } catch (err) {
          failure ??= err;
          controller.abort();
        }
      }
    };
    for (let k = runners.length; k < segments; k++) runners.push(runner());
    const settled = await Promise.allSettled(runners);
    failure ??= settled.find((r) => r.status === 'rejected')?.reason;
    if (failure) {
      if (failure instanceof RestartNeeded) {
        // Pieces of two versions of a file must not be mixed: start over, on one connection.
        keepMeta = false;
        clearInterval(metaTimer);
        await req.staging.remove();
        await req.staging.writeMeta({ source: meta.source, sourceIndex: req.sourceIndex, noSegments: true, updatedAt: Date.now() });
        throw new ModelFetchError('SIZE_MISMATCH', `${failure.message}; starting over on one connection`, true);
      }
      throw failure;
    }
    advanceHash();
    if (front !== count) throw new ModelFetchError('SIZE_MISMATCH', 'the pieces do not add up to the whole file', true);
    let digest: string;
    try {
      [digest] = await Promise.all([hasher.finish(total), fh.sync()]);
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
    const sha256 = verifyHash(digest, req.expectedSha256, resumedFrom > 0);
    // The last report carries the average speed: 0 would read as a stall on a progress bar.
    req.onProgress?.({ bytes: total, totalBytes: total, bytesPerSec: speed(total, Date.now()) });
    return {
      bytes: total,
      sha256,
      finalUrl: meta.finalUrl ?? req.url,
      contentDisposition: meta.contentDisposition ?? null,
      resumedFrom,
      segments,
    };
  } catch (err) {
    controller.abort();
    firstQueue?.discard();
    throw err;
  } finally {
    hasher?.abort();
    clearInterval(metaTimer);
    await fh?.close().catch(() => {});
    // What was written is kept for the next attempt (the processor removes it on a final failure).
    if (keepMeta) await saveMeta().catch(() => {});
  }
}
