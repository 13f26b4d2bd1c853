import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server on 127.0.0.1 only: the fakes are for this machine, never the network. */
export abstract class LoopbackServer {
  /** http://127.0.0.1:PORT once started. */
  url = '';
  private server: http.Server | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void>;

  /** Listens on `port` (0: any free port). */
  async start(port = 0): Promise<this> {
    const server = http.createServer((req, res) => {
      Promise.resolve()
        .then(() => this.handle(req, res))
        .catch((error: unknown) => {
          if (res.headersSent) res.destroy();
          else res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections (fetch keeps them) would hold close() open.
    server.closeAllConnections();
    await closed;
  }

  /** Waits `ms`; close() cancels the wait (the exchange it delays is cut off anyway). */
  protected pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}
