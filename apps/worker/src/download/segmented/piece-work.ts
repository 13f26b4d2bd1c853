import type { FileHandle } from 'node:fs/promises';
import type { DownloadRequest } from '../download-request.js';
import type { ResolvedUrl } from '../origin/resolved-url.js';
import type { PiecePlan } from './piece-plan.js';

/** What the pieces of one segmented download share. */
export interface PieceWork {
  req: DownloadRequest;
  plan: PiecePlan;
  /** Bytes written so far of each piece; updated as writes land. */
  done: number[];
  fh: FileHandle;
  /** Aborted when the download stops: the worker's signal, or a piece that failed for good. */
  signal: AbortSignal;
  /** Where the range requests go: the end of the download's redirect chain. */
  origin: ResolvedUrl;
  /** The validator every range request carries as If-Range. */
  ifRange: string;
  /** Called after bytes of piece `i` are written. */
  written: (i: number) => void;
}

/** Read-ahead per piece connection: with up to SEGMENTS of them per download, less than one stream's. */
export const PIECE_READ_AHEAD = 1024 * 1024;
