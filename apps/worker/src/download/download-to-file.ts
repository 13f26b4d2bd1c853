import { acceptResponse } from './accept-response.js';
import { segmentsOf, type DownloadRequest, type DownloadResult } from './download-request.js';
import { makeRoomBeforeRequest, refuseTooLarge } from './expected-size.js';
import { openAtOffset } from './origin/open-at-offset.js';
import { ifRangeOf } from './origin/response-headers.js';
import { canSegment } from './segmented/piece-plan.js';
import { downloadSegmented } from './segmented/segmented-download.js';
import { downloadOverOneConnection } from './single-connection/single-connection-download.js';
import type { StagingSource } from './staging/staging-meta.js';
import { verifyStagedFile } from './verify-staged-file.js';

/**
 * Downloads the model into the job's staging file, continuing what an earlier attempt of the
 * same source left there, and returns its verified SHA-256. A published size (expectedSize) is
 * checked and made room for before the first request. Chooses the way:
 *   - per-piece progress recorded: the segmented path resumes its pieces;
 *   - every byte already staged: verifies the file without asking the origin;
 *   - otherwise asks the origin (Range + If-Range after the staged bytes, when it can continue),
 *     and a large file served in ranges goes the segmented way, anything else over this one
 *     connection.
 * Throws ModelFetchError.
 */
export async function downloadToFile(request: DownloadRequest): Promise<DownloadResult> {
  refuseTooLarge(request);
  const meta = await request.staging.readMeta();
  let req = request;
  const source: StagingSource = { url: req.url, sourceIndex: req.sourceIndex, deadSources: meta?.deadSources ?? [] };
  const sameSource = meta?.sourceIndex === req.sourceIndex;
  if (meta?.pieces && sameSource && segmentsOf(req) > 1) return downloadSegmented(req, source, { meta });

  const ifRange = meta && sameSource && !meta.pieces ? ifRangeOf(meta) : undefined;
  const staged = ifRange ? await req.staging.size() : 0;
  if (staged > 0 && meta?.totalBytes === staged) return verifyStagedFile(req, meta, staged);

  req = await makeRoomBeforeRequest(req, staged);
  const { opened, offset } = await openAtOffset(req, staged, ifRange);
  const sizes = await acceptResponse(req, opened);
  if (
    offset === 0 &&
    opened.response.statusCode === 200 &&
    !meta?.noSegments &&
    canSegment(req, opened.header, sizes.contentLength)
  ) {
    return downloadSegmented(req, source, { first: opened, totalBytes: sizes.contentLength! });
  }
  return downloadOverOneConnection(req, source, opened, offset, sizes);
}
