import type { Dispatcher } from 'undici';

/** Bytes read ahead of the disk before the body is paused. */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * Reads a response body as it arrives and hands it over in batches. undici 7 crashes the whole
 * process (an uncatchable assertion, nodejs/undici#5360, fixed only in undici 8) when a body is
 * paused for backpressure at the moment a `Connection: close` origin ends the socket. So the body
 * flows freely from the first byte, through awaits and slow writes alike, and is paused only
 * when `readAhead` bytes pile up (a disk much slower than the network).
 */
export class BodyQueue {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private ended = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  constructor(
    private readonly body: Dispatcher.ResponseData['body'],
    readAhead = READ_AHEAD_BYTES,
    /** The response said `Connection: close`: the case that crashes, so it is never paused. */
    closing = false,
  ) {
    if (closing) readAhead = Infinity;
    body.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      if (this.bytes >= readAhead) body.pause();
      this.wake?.();
    });
    body.once('end', () => {
      this.ended = true;
      this.wake?.();
    });
    body.on('error', (err) => {
      this.error = err;
      this.wake?.();
    });
  }

  /** Everything received so far (waiting for at least one chunk); null at the end of the body. */
  async take(): Promise<Buffer[] | null> {
    while (this.chunks.length === 0) {
      if (this.error) throw this.error;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    if (this.body.isPaused() && !this.ended) this.body.resume();
    return chunks;
  }

  /** Stops reading and drops what is buffered. */
  discard(): void {
    this.chunks = [];
    this.body.destroy();
  }
}
