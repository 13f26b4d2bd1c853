import { isHtmlContentType } from './content-checks.js';
import { notAModel } from './download-errors.js';
import type { DownloadRequest } from './download-request.js';
import { assertPublishedSize } from './expected-size.js';
import { parseContentRange } from './origin/content-range.js';
import type { Opened } from './origin/open-response.js';
import { contentLengthOf } from './origin/response-headers.js';

export interface ResponseSizes {
  /** The whole file's size, when the answer tells it (Content-Length, or Content-Range's total). */
  totalBytes: number | null;
  /** This answer's body size, when it has a Content-Length. */
  contentLength: number | null;
}

/**
 * Refuses an answer that is not the model file (an HTML page, what the request's checkResponse
 * refuses, a size other than the published one), dropping its body; otherwise tells its sizes.
 */
export async function acceptResponse(req: DownloadRequest, opened: Opened): Promise<ResponseSizes> {
  const { response, header, finalUrl } = opened;
  try {
    if (isHtmlContentType(header('content-type'))) {
      throw notAModel(
        `the origin answered an HTML page (Content-Type: ${header('content-type')}), not a model file; a login or error page?`,
      );
    }
    const contentLength = contentLengthOf(header);
    const totalBytes =
      response.statusCode === 206 ? (parseContentRange(header('content-range'))?.total ?? null) : contentLength;
    req.checkResponse?.({ finalUrl, contentDisposition: header('content-disposition'), totalBytes });
    assertPublishedSize(req, totalBytes, 'the origin says the file is');
    return { totalBytes, contentLength };
  } catch (err) {
    await response.body.dump().catch(() => {});
    throw err;
  }
}
