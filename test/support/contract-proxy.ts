import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openApiDocument } from '@model-manager/api';
import { ContractChecker } from './contract.js';

let checker: ContractChecker | undefined;

/**
 * A loopback proxy in front of a test's API that checks every answer against /openapi.json's
 * document (see ContractChecker) while passing it through unchanged, streams included. The e2e
 * suites talk to the API through it, so their traffic is the contract test.
 */
export class ContractProxy {
  readonly violations: string[] = [];
  private readonly server: http.Server;
  url = '';

  constructor(private readonly target: string) {
    checker ??= new ContractChecker(openApiDocument() as never);
    this.server = http.createServer((req, res) => this.forward(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { hostname, port } = new URL(this.target);
    // A new connection per request: a kept-alive one the API closes while idle would fail a request here.
    const upstream = http.request(
      { hostname, port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.rawHeaders);
        res.flushHeaders();
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          res.write(chunk);
        });
        answer.on('end', () => {
          this.record(req, answer, Buffer.concat(chunks));
          res.end();
        });
        // A stream the caller left early: its complete events are checked all the same.
        answer.on('aborted', () => {
          if (String(answer.headers['content-type']).startsWith('text/event-stream'))
            this.record(req, answer, Buffer.concat(chunks));
        });
        answer.on('error', () => res.destroy());
      },
    );
    // The API gone (stopped by the test): the caller sees a dropped connection, as without the proxy.
    upstream.on('error', () => req.socket.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  private record(req: http.IncomingMessage, answer: http.IncomingMessage, body: Buffer): void {
    if (req.method === 'HEAD') return;
    try {
      this.violations.push(
        ...checker!.check(req.method!, req.url!, answer.statusCode!, answer.headers['content-type'], body),
      );
    } catch (err) {
      this.violations.push(
        `${req.method} ${req.url} -> ${answer.statusCode}: unreadable body (${(err as Error).message}): ${body.toString().slice(0, 200)}`,
      );
    }
  }
}
