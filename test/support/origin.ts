import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OriginFile {
  body: Buffer;
  sha256: string;
}

/**
 * A real HTTP origin on loopback serving generated files, with the faults the tests need.
 *   /files/NAME           200 with Content-Length (optional ?cd=FILENAME sends Content-Disposition)
 *   /redirect/NAME        302 to /files/NAME (?to= overrides the target path)
 *   /slow/NAME?ms=&chunk= body sent in chunks with a pause between them
 *   /status/CODE          that status, no body worth keeping
 * Every request is counted per path, and every body byte sent per file.
 */
export class TestOrigin {
  readonly files = new Map<string, OriginFile>();
  readonly hits = new Map<string, number>();
  readonly bytesSent = new Map<string, number>();
  readonly requests: Array<{ path: string; headers: http.IncomingHttpHeaders }> = [];
  private server!: http.Server;
  url = '';

  addFile(name: string, size: number): OriginFile {
    const body = randomBytes(size);
    const file = { body, sha256: createHash('sha256').update(body).digest('hex') };
    this.files.set(name, file);
    return file;
  }

  hitCount(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://origin');
    this.hits.set(url.pathname, this.hitCount(url.pathname) + 1);
    this.requests.push({ path: url.pathname, headers: req.headers });
    const [, route, name = ''] = url.pathname.split('/');
    const file = this.files.get(decodeURIComponent(name));
    const count = (n: number) => this.bytesSent.set(name, (this.bytesSent.get(name) ?? 0) + n);

    if (route === 'status') {
      res.writeHead(Number(name) || 500, { 'content-type': 'text/plain' }).end(`status ${name}`);
      return;
    }
    if (route === 'redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? `/files/${name}` }).end();
      return;
    }
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      'content-length': file.body.length,
    };
    const cd = url.searchParams.get('cd');
    if (cd) headers['content-disposition'] = `attachment; filename="${cd}"`;
    if (route === 'files') {
      res.writeHead(200, headers).end(file.body);
      count(file.body.length);
      return;
    }
    if (route === 'slow') {
      const pause = Number(url.searchParams.get('ms') ?? 100);
      const chunk = Number(url.searchParams.get('chunk') ?? 64 * 1024);
      res.writeHead(200, headers);
      let offset = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        const piece = file.body.subarray(offset, offset + chunk);
        offset += piece.length;
        count(piece.length);
        if (offset >= file.body.length) {
          clearInterval(timer);
          res.end(piece);
        } else res.write(piece);
      }, pause);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(404).end();
  }
}
