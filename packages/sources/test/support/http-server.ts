import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  authorization?: string;
}

/**
 * An HTTP server that records what it was asked; `start()` puts it on a free loopback port and
 * sets `origin`. Made before it starts, so a test file can hold it from the top.
 */
export function loopbackServer(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization });
    handle(req, res);
  });
  const fake = {
    origin: '',
    seen,
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      fake.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

/** How a fake host answers one path. */
export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (a host that hangs). */
  delayMs?: number;
}

export function send(res: ServerResponse, answer: Answer | undefined): void {
  const write = () => {
    if (!answer) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(answer.status ?? 200, answer.headers ?? {});
    res.end(answer.body);
  };
  if (answer?.delayMs) setTimeout(write, answer.delayMs);
  else write();
}
