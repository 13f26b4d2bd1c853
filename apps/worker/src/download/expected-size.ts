import { sizeMismatch, tooLarge } from './download-errors.js';
import type { DownloadRequest } from './download-request.js';

// The size the host published (DownloadRequest.expectedSize), used before the first request:
// a file larger than allowed is refused at once, and room is made for it on the volume.

/** Refuses a published size over maxBytes: no request is made. */
export function refuseTooLarge(req: DownloadRequest): void {
  if (req.expectedSize !== undefined && req.maxBytes !== undefined && req.expectedSize > req.maxBytes) {
    throw tooLarge(`the host says the file is ${req.expectedSize} bytes, more than MAX_MODEL_BYTES (${req.maxBytes})`);
  }
}

/** Fails with SIZE_MISMATCH when `bytes` (the file's size as the origin tells it, or as it arrived) is known and not the published size. */
export function assertPublishedSize(req: DownloadRequest, bytes: number | null, what: string): void {
  if (req.expectedSize !== undefined && bytes !== null && bytes !== req.expectedSize) {
    throw sizeMismatch(`${what} ${bytes} bytes, but the host published ${req.expectedSize}`);
  }
}

/**
 * Makes room (beforeWrite) for the published size, less the `staged` bytes a resume keeps,
 * before the request. The request returned asks beforeWrite again only for more than that (an
 * origin that does not continue the resume sends the whole file).
 */
export async function makeRoomBeforeRequest(req: DownloadRequest, staged: number): Promise<DownloadRequest> {
  const { beforeWrite } = req;
  if (req.expectedSize === undefined || !beforeWrite) return req;
  const made = Math.max(0, req.expectedSize - staged);
  await beforeWrite(made);
  return {
    ...req,
    beforeWrite: async (remaining) => {
      if (remaining !== null && remaining > made) await beforeWrite(remaining);
    },
  };
}
