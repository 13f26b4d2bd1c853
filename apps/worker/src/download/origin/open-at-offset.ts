import { parseContentRange } from './content-range.js';
import { openResponse, type Opened, type OriginRequest } from './open-response.js';

/**
 * Asks for the file from byte `offset` on (Range with If-Range), or from the start when there is
 * nothing to continue. When the origin does not continue at that byte (a 200: the range was
 * ignored or the file changed; anything else odd is asked again without a range), the answer
 * is the whole file and `offset` is 0.
 */
export async function openAtOffset(
  req: OriginRequest,
  offset: number,
  ifRange: string | undefined,
): Promise<{ opened: Opened; offset: number }> {
  if (offset === 0 || !ifRange) return { opened: await openResponse(req, undefined), offset: 0 };
  let opened = await openResponse(req, { from: offset, ifRange });
  const range = parseContentRange(opened.header('content-range'));
  if (opened.response.statusCode === 206 && range?.start === offset) return { opened, offset };
  if (opened.response.statusCode !== 200) {
    await opened.response.body.dump().catch(() => {});
    opened = await openResponse(req, undefined);
  }
  req.logger.info(
    { had: offset, status: opened.response.statusCode },
    'origin did not continue the partial download; starting over',
  );
  return { opened, offset: 0 };
}
