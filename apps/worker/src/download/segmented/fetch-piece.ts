import { BodyQueue } from '../body/body-queue.js';
import { networkError } from '../download-errors.js';
import { parseContentRange } from '../origin/content-range.js';
import { closes } from '../origin/response-headers.js';
import { fillPiece } from './fill-piece.js';
import { PIECE_READ_AHEAD, type PieceWork } from './piece-work.js';
import { pieceLength } from './piece-plan.js';

/** Tries of one piece within an attempt before the attempt fails (and resumes later). */
const PIECE_TRIES = 3;

/** The origin's file changed (or it stopped serving ranges): the pieces no longer fit together. */
export class RestartNeeded extends Error {}

/** Failures of one piece's connection, which another range request may get past. */
const PIECE_FAULTS = new Set(['NETWORK_ERROR', 'TIMEOUT', 'SIZE_MISMATCH', 'HTTP_ERROR']);

/**
 * Whether a piece that failed this way is tried again within the attempt: a retryable failure
 * of its connection. Anything else (a lost lease, a shutdown, the disk) stops the whole download.
 */
export function retriesPiece(err: unknown, signal: AbortSignal): boolean {
  if (err instanceof RestartNeeded || signal.aborted) return false;
  const failure = networkError(err, signal);
  return failure.retryable && PIECE_FAULTS.has(failure.code);
}

/**
 * Fetches the rest of piece `i` with a range request (at the download's resolved URL), trying
 * again after a failure of its connection (up to PIECE_TRIES times, each from where the last
 * one stopped).
 */
export async function fetchPiece(work: PieceWork, i: number): Promise<void> {
  const { req, plan, done, signal } = work;
  for (let tryNo = 1; ; tryNo++) {
    if (signal.aborted) throw networkError(signal.reason, signal);
    const from = i * plan.pieceSize + done[i]!;
    const to = i * plan.pieceSize + pieceLength(plan, i) - 1;
    try {
      const opened = await work.origin.open({ from, to, ifRange: work.ifRange });
      const range = parseContentRange(opened.header('content-range'));
      if (opened.response.statusCode !== 206 || !range || range.start !== from) {
        await opened.response.body.dump().catch(() => {});
        throw new RestartNeeded(
          `the origin answered ${opened.response.statusCode} to a range request (the file changed?)`,
        );
      }
      await fillPiece(work, i, new BodyQueue(opened.response.body, PIECE_READ_AHEAD, closes(opened.header)));
      return;
    } catch (err) {
      if (!retriesPiece(err, signal) || tryNo >= PIECE_TRIES)
        throw err instanceof RestartNeeded ? err : networkError(err, signal);
      const failure = networkError(err, signal);
      req.logger.info(
        { piece: i, try: tryNo, code: failure.code, at: done[i] },
        'piece failed; fetching its remainder again',
      );
      await new Promise((r) => setTimeout(r, 200 * tryNo));
    }
  }
}
