import type { DownloadRequest } from '../download-request.js';
import { segmentsOf } from '../download-request.js';
import type { HeaderOf } from '../origin/response-headers.js';
import { validatorsOf } from '../origin/response-headers.js';

const MiB = 1024 * 1024;
/** Files smaller than this are fetched over one connection unless the request says otherwise. */
const SEGMENT_MIN_BYTES = 64 * MiB;

/** A file worth splitting: ranges served, a validator to keep them consistent, large enough. */
export function canSegment(req: DownloadRequest, header: HeaderOf, contentLength: number | null): boolean {
  if (segmentsOf(req) < 2 || contentLength === null || contentLength < (req.segmentMinBytes ?? SEGMENT_MIN_BYTES))
    return false;
  if (!/\bbytes\b/i.test(header('accept-ranges') ?? '')) return false;
  const v = validatorsOf(header);
  return !!(v.etag ?? v.lastModified);
}

/** A file of `total` bytes cut into `count` pieces of `pieceSize` (the last one shorter). */
export interface PiecePlan {
  total: number;
  pieceSize: number;
  count: number;
}

/**
 * Pieces are taken in order, so the hashed prefix trails the download by about `segments`
 * pieces; when the last pieces land together, that much is left to hash. Small pieces keep
 * that tail short; 4 MiB keeps the cost of a request per piece negligible.
 */
export function planPieces(total: number, segments: number, pieceSize?: number): PiecePlan {
  const size = pieceSize ?? Math.min(32 * MiB, Math.max(4 * MiB, Math.ceil(total / (segments * 16) / MiB) * MiB));
  return { total, pieceSize: size, count: Math.ceil(total / size) };
}

export const pieceLength = (plan: PiecePlan, i: number): number =>
  Math.min(plan.pieceSize, plan.total - i * plan.pieceSize);

/**
 * Bytes of each piece kept from an earlier attempt: its recorded progress, trusted only as far
 * as the staging file (`onDisk` bytes) really reaches, and only for a plan of the same shape.
 */
export function keptProgress(plan: PiecePlan, recorded: number[] | undefined, onDisk: number): number[] {
  return Array.from({ length: plan.count }, (_, i) =>
    recorded?.length === plan.count
      ? Math.max(0, Math.min(recorded[i] ?? 0, pieceLength(plan, i), onDisk - i * plan.pieceSize))
      : 0,
  );
}

/** The first piece at or after `front` that is not complete (`count` when all are). */
export function firstIncomplete(plan: PiecePlan, done: readonly number[], front = 0): number {
  while (front < plan.count && done[front] === pieceLength(plan, front)) front++;
  return front;
}

/**
 * Bytes [0, n) that are final on disk: the pieces before `front`, all complete, and the front
 * piece's bytes so far; the whole file once every piece is complete (the last piece is shorter
 * than the others, so `count × pieceSize` would run past the end of the file).
 */
export function contiguousBytes(plan: PiecePlan, done: readonly number[], front: number): number {
  return front < plan.count ? front * plan.pieceSize + done[front]! : plan.total;
}
