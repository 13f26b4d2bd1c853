import type { FileHandle } from 'node:fs/promises';
import { writeAll } from './write-all.js';

/** Writes go to disk in runs of at least this many bytes... */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** ...or at least this often, so a slow download killed hard loses little to resume. */
const WRITE_EVERY_MS = 1000;
/**
 * Every this many bytes written, the data so far is flushed to the disk in the background, so
 * the fsync before publishing has only the tail left instead of the whole file.
 */
const SYNC_EVERY_BYTES = 128 * 1024 * 1024;

/**
 * Appends a body to a file from `position` on, in runs of WRITE_BATCH_BYTES or every
 * WRITE_EVERY_MS, with at most one write in flight while the next run gathers. `written` hears
 * how far the file is final after each write.
 */
export class BatchedWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private lastFlush = Date.now();
  private syncing: Promise<void> | undefined;
  private syncedUpTo: number;

  constructor(
    private readonly fh: FileHandle,
    private position: number,
    private readonly written: (end: number) => void,
    /** Checked before every write (fencing); throws to stop. */
    private readonly assertMayWrite?: () => void,
  ) {
    this.syncedUpTo = position;
  }

  /** The error a write failed with, if one did. */
  isWriteFailure(err: unknown): boolean {
    return this.failure !== undefined && this.failure.error === err;
  }

  add(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** Starts writing what is gathered when a run is due, after the write in flight; throws a failed write's error. */
  async flushWhenDue(now: number): Promise<void> {
    if (this.pendingBytes < WRITE_BATCH_BYTES && now - this.lastFlush < WRITE_EVERY_MS) return;
    await this.writing;
    if (this.failure) throw this.failure.error;
    this.flush();
  }

  /** Writes everything gathered and waits for it; throws a failed write's error. */
  async drain(): Promise<void> {
    await this.writing;
    if (!this.failure && this.pending.length > 0) {
      this.flush();
      await this.writing;
    }
    if (this.failure) throw this.failure.error;
    await this.syncing;
  }

  /** After a failure elsewhere: writes what arrived, unless a write failed or `keep` is false. Never throws. */
  async settle(keep: boolean): Promise<void> {
    await this.writing.catch(() => {});
    await this.syncing;
    if (!keep || this.failure || this.pending.length === 0) return;
    try {
      this.flush();
      await this.writing;
    } catch {
      /* the lease says no: leave the file alone */
    }
  }

  private flush(): void {
    this.assertMayWrite?.();
    this.lastFlush = Date.now();
    const buffers = this.pending;
    const at = this.position;
    this.position += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const end = this.position;
    this.writing = writeAll(this.fh, buffers, at)
      .then(() => {
        this.written(end);
        if (!this.syncing && this.position - this.syncedUpTo >= SYNC_EVERY_BYTES) {
          this.syncedUpTo = this.position;
          // Errors surface in the final sync; this one only spreads the flushing out.
          this.syncing = this.fh
            .datasync()
            .catch(() => {})
            .finally(() => {
              this.syncing = undefined;
            });
        }
      })
      .catch((err: unknown) => {
        this.failure = { error: err };
      });
  }
}
