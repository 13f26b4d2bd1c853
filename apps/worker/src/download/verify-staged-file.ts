import { fileError } from './download-errors.js';
import type { DownloadRequest, DownloadResult } from './download-request.js';
import { hashOnThread } from './file-hasher.js';
import type { StagingMeta } from './staging/staging-file.js';
import { verifyHash } from './verify-hash.js';

/**
 * Every byte is already staged (the last attempt ended after the download, before publishing):
 * verifies what is on disk instead of asking the origin again.
 */
export async function verifyStagedFile(
  req: DownloadRequest,
  meta: StagingMeta,
  bytes: number,
): Promise<DownloadResult> {
  let digest: string;
  try {
    digest = await hashOnThread(req.staging.partPath, bytes);
  } catch (err) {
    throw fileError(err, req.staging.partPath);
  }
  const sha256 = verifyHash(digest, req.expectedSha256, true);
  req.logger.info({ bytes }, 'staged file already complete; verified it instead of downloading again');
  return {
    bytes,
    sha256,
    finalUrl: meta.finalUrl ?? req.url,
    contentDisposition: meta.contentDisposition ?? null,
    resumedFrom: bytes,
  };
}
