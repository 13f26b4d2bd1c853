import type { FileHandle } from 'node:fs/promises';
import { BodyQueue } from '../body/body-queue.js';
import { fileError, sizeMismatch } from '../download-errors.js';
import { segmentsOf, type DownloadRequest, type DownloadResult } from '../download-request.js';
import { FileHasher } from '../file-hasher.js';
import type { Opened } from '../origin/open-response.js';
import { ResolvedUrl } from '../origin/resolved-url.js';
import { closes, ifRangeOf, validatorsOf } from '../origin/response-headers.js';
import { ProgressReporter } from '../progress-reporter.js';
import type { StagingMeta } from '../staging/staging-file.js';
import { writeStagingMeta, type StagingProgress, type StagingSource } from '../staging/staging-meta.js';
import { verifyHash } from '../verify-hash.js';
import { RestartNeeded, fetchPiece, retriesPiece } from './fetch-piece.js';
import { fillPiece } from './fill-piece.js';
import { contiguousBytes, firstIncomplete, keptProgress, pieceLength, planPieces } from './piece-plan.js';
import { PIECE_READ_AHEAD, type PieceWork } from './piece-work.js';

/** How often the per-piece progress is written to the staging metadata. */
const META_EVERY_MS = 1000;

const sum = (values: readonly number[]) => values.reduce((n, v) => n + v, 0);

/**
 * Fetches a large file as pieces over parallel range requests (If-Range with the first
 * response's validator, sent where its redirects ended: see ResolvedUrl), each written in
 * place, starting from the first response (`first`) or from the progress an earlier attempt
 * recorded (`meta`). Progress per piece is kept in the staging metadata, so a reset piece
 * re-fetches only its own remainder, in this attempt or a later one. SHA-256 follows the
 * contiguous prefix as it grows, read back from the page cache on the hashing thread
 * (FileHasher), and is verified before the caller publishes the file.
 */
export async function downloadSegmented(
  req: DownloadRequest,
  source: StagingSource,
  from: { first: Opened; totalBytes: number } | { meta: StagingMeta },
): Promise<DownloadResult> {
  const segments = segmentsOf(req);
  const first = 'first' in from ? from.first : undefined;
  const previous = 'meta' in from ? from.meta : undefined;
  const described: StagingProgress = first
    ? {
        ...validatorsOf(first.header),
        contentDisposition: first.header('content-disposition'),
        finalUrl: first.finalUrl,
      }
    : {
        etag: previous!.etag,
        lastModified: previous!.lastModified,
        contentDisposition: previous!.contentDisposition,
        finalUrl: previous!.finalUrl,
      };
  const ifRange = ifRangeOf(described)!;
  const plan = planPieces('first' in from ? from.totalBytes : previous!.totalBytes!, segments, previous?.pieceSize);
  const onDisk = previous ? await req.staging.size() : 0;
  const done = keptProgress(plan, previous?.pieces, onDisk);
  const resumedFrom = sum(done);
  // The metadata is written under the lease too: after LOCK_LOST it belongs to the job's new owner.
  const saveMeta = async () => {
    req.assertMayWrite?.();
    await writeStagingMeta(req.staging, source, {
      ...described,
      totalBytes: plan.total,
      pieceSize: plan.pieceSize,
      pieces: [...done],
    });
  };

  let fh: FileHandle | undefined;
  let hasher: FileHasher | undefined;
  const controller = new AbortController();
  const signal = req.signal ? AbortSignal.any([req.signal, controller.signal]) : controller.signal;
  const firstQueue = first ? new BodyQueue(first.response.body, PIECE_READ_AHEAD, closes(first.header)) : undefined;
  let metaTimer: NodeJS.Timeout | undefined;
  let keepMeta = true;
  try {
    await saveMeta();
    await req.beforeWrite?.(plan.total - resumedFrom);
    try {
      fh = await req.staging.openForWrite(!!previous && onDisk > 0);
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
    if (resumedFrom > 0)
      req.logger.info({ resumedFrom, totalBytes: plan.total, pieces: plan.count }, 'resuming segmented download');
    else req.logger.info({ totalBytes: plan.total, pieces: plan.count, segments }, 'segmented download');
    metaTimer = setInterval(() => void saveMeta().catch(() => {}), META_EVERY_MS);

    // SHA-256 of the contiguous prefix, computed on the hashing thread as the prefix grows.
    const fileHasher = new FileHasher(req.staging.partPath);
    hasher = fileHasher;
    let front = 0;
    const advanceHash = () => {
      front = firstIncomplete(plan, done, front);
      fileHasher.advance(contiguousBytes(plan, done, front));
    };
    advanceHash();
    const progress = new ProgressReporter(req.onProgress, plan.total, resumedFrom);
    const work: PieceWork = {
      req,
      plan,
      done,
      fh,
      signal,
      // A resumed attempt has no response yet: its first piece request follows the redirects,
      // since the URL an earlier attempt resolved may have expired (and is recorded redacted).
      origin: new ResolvedUrl({ ...req, signal }, first),
      ifRange,
      written: (i) => {
        if (i <= front) advanceHash();
        progress.tick(sum(done));
      },
    };

    // Pieces in order; the first response, if any, already carries piece 0.
    const queueOfPieces = done.map((_, i) => i).filter((i) => done[i]! < pieceLength(plan, i));
    const runners: Array<Promise<void>> = [];
    if (firstQueue && queueOfPieces[0] === 0) {
      queueOfPieces.shift();
      runners.push(
        fillPiece(work, 0, firstQueue).catch(async (err: unknown) => {
          if (!retriesPiece(err, signal)) throw err;
          await fetchPiece(work, 0); // the first response broke: the usual path takes over
        }),
      );
    } else firstQueue?.discard();
    let failure: unknown;
    const runner = async () => {
      for (let i = queueOfPieces.shift(); i !== undefined && !failure; i = queueOfPieces.shift()) {
        try {
          await fetchPiece(work, i);
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
        await writeStagingMeta(req.staging, source, { noSegments: true });
        throw sizeMismatch(`${failure.message}; starting over on one connection`);
      }
      throw failure;
    }
    advanceHash();
    if (front !== plan.count) throw sizeMismatch('the pieces do not add up to the whole file');
    let digest: string;
    try {
      [digest] = await Promise.all([fileHasher.finish(plan.total), fh.sync()]);
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
    const sha256 = verifyHash(digest, req.expectedSha256, resumedFrom > 0);
    // The last report carries the average speed: 0 would read as a stall on a progress bar.
    progress.final(plan.total);
    return {
      bytes: plan.total,
      sha256,
      finalUrl: described.finalUrl ?? req.url,
      contentDisposition: described.contentDisposition ?? null,
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
