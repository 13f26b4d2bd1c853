import type { FileHandle } from 'node:fs/promises';
import type { ResponseSizes } from '../accept-response.js';
import { fileError } from '../download-errors.js';
import type { DownloadRequest } from '../download-request.js';
import type { Opened } from '../origin/open-response.js';
import { validatorsOf } from '../origin/response-headers.js';
import { writeStagingMeta, type StagingSource } from '../staging/staging-meta.js';

/**
 * Makes room (beforeWrite), then opens the staging file: cut to `offset` to continue it, or
 * emptied, in which case the new response's validators are recorded after the emptying, so
 * old bytes never sit beside a new ETag.
 */
export async function openStaging(
  req: DownloadRequest,
  source: StagingSource,
  opened: Opened,
  offset: number,
  { totalBytes, contentLength }: ResponseSizes,
): Promise<FileHandle> {
  await req.beforeWrite?.(contentLength);
  let fh: FileHandle;
  try {
    fh = await req.staging.openForWrite(offset > 0);
    if (offset > 0) await fh.truncate(offset);
  } catch (err) {
    throw fileError(err, req.staging.partPath);
  }
  if (offset > 0) return fh;
  try {
    await writeStagingMeta(req.staging, source, {
      ...validatorsOf(opened.header),
      totalBytes,
      contentDisposition: opened.header('content-disposition'),
      finalUrl: opened.finalUrl,
    });
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
  return fh;
}
