import { ModelFetchError, type Logger } from '@model-manager/core';
import type { VolumeCleanup } from '@model-manager/registry';
import type { DiskSpace } from '../download/disk-space.js';

/**
 * Evicts what quota eviction may (never pinned, leased, young or in-flight models) until the
 * download fits under CACHE_MAX_BYTES and above MIN_FREE_BYTES, then reserves its space. Fails
 * with DISK_FULL only when no eviction can make the room. Twice, since another download may take
 * the space freed for this one before the reservation.
 */
export async function makeRoom(
  cleanup: VolumeCleanup,
  disk: DiskSpace,
  stagingKey: string,
  remaining: number,
  log: Logger,
) {
  for (let round = 1; ; round++) {
    const room = await cleanup.makeRoom(remaining, await disk.reservedByOthers(stagingKey));
    if (room.removed.length > 0) {
      log.info(
        { removed: room.removed.map((m) => `${m.kind}/${m.name} (${m.reason})`), freedBytes: room.freedBytes },
        'evicted models to make room',
      );
    }
    if (!room.fits) {
      const kept = room.skipped.map((m) => `${m.kind}/${m.name} (${m.reason})`).join(', ') || 'none';
      throw new ModelFetchError(
        'DISK_FULL',
        `not enough space for ${remaining} bytes within CACHE_MAX_BYTES and MIN_FREE_BYTES, even after evicting every model that may go; kept: ${kept}`,
        { retryable: false },
      );
    }
    try {
      await disk.reserve(stagingKey, remaining);
      return;
    } catch (err) {
      if (round >= 2 || !(err instanceof ModelFetchError) || err.code !== 'DISK_FULL') throw err;
    }
  }
}

/**
 * A download without a Content-Length could not make room before writing: once it is published,
 * quota eviction brings the volume back under the limits (sparing this model, which is in flight
 * and young). Never fails the download: the schedule tries again.
 */
export async function evictAfterUnknownSize(cleanup: VolumeCleanup, log: Logger) {
  try {
    const report = await cleanup.enforce('download');
    if (report && report.removed.length > 0) {
      log.info(
        { removed: report.removed.map((m) => `${m.kind}/${m.name} (${m.reason})`), freedBytes: report.freedBytes },
        'evicted models to get back under the limits',
      );
    }
  } catch (err) {
    log.warn(
      { err: (err as Error).message },
      'could not evict after a download of unknown size; the scheduled cleanup will',
    );
  }
}
