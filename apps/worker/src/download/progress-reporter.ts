import type { DownloadProgress } from './download-request.js';

/** How often a download reports its progress, at most. */
export const PROGRESS_INTERVAL_MS = 250;

/** Bytes per second over the time since `started`. */
export function rate(bytes: number, started: number, now: number): number {
  const seconds = (now - started) / 1000;
  return seconds > 0 ? Math.round(bytes / seconds) : 0;
}

/** Reports a download's progress at most every PROGRESS_INTERVAL_MS, its speed counting only bytes fetched in this attempt. */
export class ProgressReporter {
  readonly started = Date.now();
  // The first report waits an interval too: a speed over one chunk's microseconds means nothing.
  private last = this.started;

  constructor(
    private readonly onProgress: ((progress: DownloadProgress) => void) | undefined,
    private readonly totalBytes: number | null,
    private readonly resumedFrom: number,
  ) {}

  /** Bytes per second fetched in this attempt. */
  speed(bytes: number, now = Date.now()): number {
    return rate(bytes - this.resumedFrom, this.started, now);
  }

  /** Reports `bytes` if an interval has passed since the last report. */
  tick(bytes: number, now = Date.now()): void {
    if (!this.onProgress || now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    this.onProgress({ bytes, totalBytes: this.totalBytes, bytesPerSec: this.speed(bytes, now) });
  }

  /** The last report, whenever the one before was. */
  final(bytes: number): void {
    this.onProgress?.({ bytes, totalBytes: this.totalBytes, bytesPerSec: this.speed(bytes) });
  }
}
