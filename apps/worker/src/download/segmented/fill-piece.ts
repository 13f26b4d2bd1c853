import { ModelFetchError } from '@model-manager/core';
import type { BodyQueue } from '../body/body-queue.js';
import { writeAll } from '../body/write-all.js';
import { fileError, networkError, sizeMismatch } from '../download-errors.js';
import type { PieceWork } from './piece-work.js';
import { pieceLength } from './piece-plan.js';

const MiB = 1024 * 1024;

/**
 * Streams one response into piece `i` from its current progress, in place, and stops at the
 * piece's end. What arrived before a failure is written, so the next try fetches only the rest.
 */
export async function fillPiece(work: PieceWork, i: number, queue: BodyQueue): Promise<void> {
  const { req, plan, done } = work;
  const end = pieceLength(plan, i);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    req.assertMayWrite?.();
    const buffers = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    try {
      await writeAll(work.fh, buffers, i * plan.pieceSize + done[i]!);
    } catch (err) {
      throw fileError(err, req.staging.partPath);
    }
    done[i]! += bytes;
    work.written(i);
  };
  try {
    for (let chunks = await queue.take(); chunks; chunks = await queue.take()) {
      for (let chunk of chunks) {
        const room = end - done[i]! - pendingBytes;
        if (chunk.length > room) chunk = chunk.subarray(0, room);
        pending.push(chunk);
        pendingBytes += chunk.length;
      }
      if (done[i]! + pendingBytes >= end) break;
      if (pendingBytes >= MiB) await flush();
    }
    await flush();
  } catch (err) {
    await flush().catch(() => {}); // what arrived is good: keep it for the next try
    throw err instanceof ModelFetchError ? err : networkError(err, work.signal);
  } finally {
    queue.discard();
  }
  if (done[i]! < end) throw sizeMismatch(`piece ${i} ended after ${done[i]} of ${end} bytes`);
}
