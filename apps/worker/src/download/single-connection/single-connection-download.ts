import type { FileHandle } from 'node:fs/promises';
import { ModelFetchError } from '@model-manager/core';
import type { ResponseSizes } from '../accept-response.js';
import { BatchedWriter } from '../body/batched-writer.js';
import { BodyQueue, READ_AHEAD_BYTES } from '../body/body-queue.js';
import { looksLikeHtml } from '../content-checks.js';
import { fileError, networkError, notAModel, sizeMismatch, tooLarge } from '../download-errors.js';
import type { DownloadRequest, DownloadResult } from '../download-request.js';
import { assertPublishedSize } from '../expected-size.js';
import { FileHasher } from '../file-hasher.js';
import type { Opened } from '../origin/open-response.js';
import { closes } from '../origin/response-headers.js';
import { ProgressReporter } from '../progress-reporter.js';
import type { StagingSource } from '../staging/staging-meta.js';
import { verifyHash } from '../verify-hash.js';
import { openStaging } from './open-staging.js';

/** How much of a body's beginning is checked for an HTML page. */
const SNIFF_BYTES = 512;
const LOG_EVERY_BYTES = 100 * 1024 * 1024;

/**
 * Streams one response into the staging file from byte `offset` (bytes before it are kept from
 * an earlier attempt). SHA-256 covers the whole file, computed on the hashing thread right
 * behind the writes (FileHasher), the kept prefix while the rest downloads. Bytes received
 * before a reset, a stall or a shutdown are written before the attempt fails, for the next one.
 */
export async function downloadOverOneConnection(
  req: DownloadRequest,
  source: StagingSource,
  opened: Opened,
  offset: number,
  { totalBytes, contentLength }: ResponseSizes,
): Promise<DownloadResult> {
  const { header, finalUrl } = opened;
  const file = req.staging.partPath;
  // Read the body from now on, whatever else is awaited: see BodyQueue for why.
  const queue = new BodyQueue(opened.response.body, READ_AHEAD_BYTES, closes(header));
  let fh: FileHandle;
  try {
    fh = await openStaging(req, source, opened, offset, { totalBytes, contentLength });
  } catch (err) {
    queue.discard();
    throw err;
  }
  const hasher = new FileHasher(file);
  hasher.advance(offset);
  if (offset > 0) req.logger.info({ resumedFrom: offset, totalBytes }, 'resuming download');
  const writer = new BatchedWriter(fh, offset, (end) => hasher.advance(end), req.assertMayWrite);
  const progress = new ProgressReporter(req.onProgress, totalBytes ?? req.expectedSize ?? null, offset);
  let received = 0;
  let sniffed: Buffer = Buffer.alloc(0);
  let nextLog = offset + LOG_EVERY_BYTES;
  const total = () => offset + received;
  let digest: string;
  try {
    try {
      for (let chunks = await queue.take(); chunks; chunks = await queue.take()) {
        for (const chunk of chunks) {
          if (offset === 0 && received < SNIFF_BYTES) {
            // The first bytes may come in several small chunks: look at up to 512 of them together.
            sniffed = Buffer.concat([sniffed, chunk]).subarray(0, SNIFF_BYTES);
            if (looksLikeHtml(sniffed))
              throw notAModel('the body is an HTML page, not a model file; a login or error page?');
          }
          received += chunk.length;
          if (req.maxBytes !== undefined && total() > req.maxBytes)
            throw tooLarge(`the body ran past ${req.maxBytes} bytes (MAX_MODEL_BYTES)`);
          // Room was made for the published size only: a longer body stops here, not at MAX_MODEL_BYTES.
          if (req.expectedSize !== undefined && total() > req.expectedSize)
            throw sizeMismatch(`the body ran past the ${req.expectedSize} bytes the host published`);
          writer.add(chunk);
        }
        const now = Date.now();
        await writer.flushWhenDue(now); // at most one write in flight; the body keeps flowing into the queue meanwhile
        progress.tick(total(), now);
        if (total() >= nextLog) {
          nextLog += LOG_EVERY_BYTES;
          req.logger.info(
            { bytes: total(), totalBytes, bytesPerSec: progress.speed(total(), now) },
            'download progress',
          );
        }
      }
    } catch (err) {
      if (writer.isWriteFailure(err)) throw fileError(err, file);
      const failure = networkError(err, req.signal);
      if (failure.code === 'NETWORK_ERROR' && contentLength !== null && received < contentLength) {
        throw sizeMismatch(`connection closed after ${received} of ${contentLength} bytes (${failure.message})`);
      }
      throw failure;
    }
    try {
      await writer.drain();
      // Durable before it is renamed into place: a crash must not publish a hole-filled file.
      // The hashing thread finishes the tail meanwhile.
      [digest] = await Promise.all([hasher.finish(total()), fh.sync()]);
    } catch (err) {
      throw fileError(err, file);
    }
  } catch (err) {
    queue.discard();
    // What arrived before a reset, a stall or a shutdown is good: keep it for the resume. Not
    // after a lost lease (someone else may own the file now) or a body that is no model.
    const code = (err as ModelFetchError).code;
    await writer.settle(code !== 'LOCK_LOST' && code !== 'NOT_A_MODEL');
    throw err;
  } finally {
    hasher.abort();
    await fh.close().catch(() => {});
  }

  progress.final(total());
  if (contentLength !== null && received !== contentLength)
    throw sizeMismatch(`received ${received} bytes but Content-Length said ${contentLength}`);
  if (totalBytes !== null && total() !== totalBytes)
    throw sizeMismatch(`file is ${total()} bytes but the origin said ${totalBytes}`);
  assertPublishedSize(req, total(), 'the body was');
  if (total() === 0) throw new ModelFetchError('EMPTY_FILE', 'the origin sent an empty body', { retryable: true });
  const sha256 = verifyHash(digest, req.expectedSha256, offset > 0);
  return { bytes: total(), sha256, finalUrl, contentDisposition: header('content-disposition'), resumedFrom: offset };
}
