import { ModelFetchError } from '@model-manager/core';
import { BodyQueue } from '../body/body-queue.js';
import { networkError } from '../download-errors.js';
import { parseContentRange } from '../origin/content-range.js';
import { openResponse } from '../origin/open-response.js';
import { closes } from '../origin/response-headers.js';
import { fillPiece } from './fill-piece.js';
import { PIECE_READ_AHEAD, type PieceWork } from './piece-work.js';
import { pieceLength } from './piece-plan.js';

/** Tries of one piece within an attempt before the attempt fails (and resumes later). */
const PIECE_TRIES = 3;

/** The origin's file changed (or it stopped serving ranges): the pieces no longer fit together. */
export class RestartNeeded extends Error {}

/**
 * Fetches the rest of piece `i` with a range request, trying a retryable failure again (up to
 * PIECE_TRIES times, each from where the last one stopped).
 */
export async function fetchPiece(work: PieceWork, i: number): Promise<void> {
  const { req, plan, done, signal } = work;
  for (let tryNo = 1; ; tryNo++) {
    const from = i * plan.pieceSize + done[i]!;
    const to = i * plan.pieceSize + pieceLength(plan, i) - 1;
    try {
      const opened = await openResponse({ ...req, signal }, { from, to, ifRange: work.ifRange });
      const range = parseContentRange(opened.header('content-range'));
      if (opened.response.statusCode !== 206 || !range || range.start !== from) {
        await opened.response.body.dump().catch(() => {});
        throw new RestartNeeded(`the origin answered ${opened.response.statusCode} to a range request (the file changed?)`);
      }
      await fillPiece(work, i, new BodyQueue(opened.response.body, PIECE_READ_AHEAD, closes(opened.header)));
      return;
    } catch (err) {
      if (err instanceof RestartNeeded || signal.aborted) throw err;
      const failure = err instanceof ModelFetchError ? err : networkError(err, signal);
      if (!failure.retryable || tryNo >= PIECE_TRIES) throw failure;
      req.logger.info({ piece: i, try: tryNo, code: failure.code, at: done[i] }, 'piece failed; fetching its remainder again');
      await new Promise((r) => setTimeout(r, 200 * tryNo));
    }
  }
}
