import type { Response } from 'express';

/** A comment line this often keeps proxies and load balancers from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

/** One Server-Sent Events answer: named events with JSON data, keep-alive comments, close handling. */
export class SseStream {
  private ended = false;
  private readonly keepAlive: NodeJS.Timeout;
  private readonly closeHandlers: Array<() => void> = [];

  constructor(private readonly res: Response) {
    res.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // The answer lasts as long as the connection is useful: once it ends, the socket goes too
      // (an idle kept-alive socket would hold a shutting-down server up).
      connection: 'close',
      'x-accel-buffering': 'no', // nginx would otherwise hold events back
    });
    res.flushHeaders();
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    // The client went away, or end() was called: either way everything the stream holds is let go.
    res.on('close', () => this.finish());
  }

  get closed(): boolean {
    return this.ended;
  }

  send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  onClose(handler: () => void): void {
    if (this.ended) handler();
    else this.closeHandlers.push(handler);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
    this.finish();
  }

  private write(text: string): void {
    if (!this.ended && !this.res.writableEnded) this.res.write(text);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepAlive);
    for (const handler of this.closeHandlers.splice(0)) handler();
  }
}
