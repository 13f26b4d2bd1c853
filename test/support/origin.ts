import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { safetensorsOf } from '@model-manager/fake-hosts';

// The same generated files as the fake hosts serve; re-exported for the tests that import it from here.
export { safetensorsOf };

export interface OriginFile {
  body: Buffer;
  sha256: string;
}

/**
 * A real HTTP origin on loopback serving generated files, with the faults the tests inject.
 *   /files/NAME      the file, with ETag, Accept-Ranges and Range/If-Range support
 *   /slow/NAME       the same, paced (?ms= pause between ?chunk= bytes)
 *   /redirect/NAME   302 to /files/NAME (?to= another path or absolute URL; &sign=1 adds a
 *                    fresh sig=N to it each time, like a storage URL signed anew per redirect)
 *   /status/CODE     that status
 * Faults, as query parameters of /files and /slow (counted per path and query):
 *   failFirst=K&failStatus=S[&retryAfter=SEC]  the first K requests answer S
 *   expireAfter=K[&expireStatus=S]  the K+1-th and later requests answer 403 (or S): a
 *                    signed URL that expired
 *   resetAt=BYTES    the first request whose body reaches BYTES has its connection destroyed there
 *   stallAt=BYTES    the first such request stops sending there and keeps the connection open
 *   wrongLength=1    Content-Length larger than the body (connection closed after the body)
 *   noLength=1       no Content-Length (chunked)
 *   html=1           an HTML login page with Content-Type text/html
 *   htmlBody=1       an HTML page sent as application/octet-stream
 *   noRange=1        Range ignored (always 200)
 *   etagChanges=1    a new ETag on every request (the file "changed": If-Range fails)
 *   cd=FILENAME      Content-Disposition attachment filename
 *   close=1          Connection: close (the server ends the socket right after the body)
 *   rangedOnly=1     resetAt/stallAt fire only on a 206 answer (a piece of a segmented download)
 * Every request is recorded with its headers; body bytes sent are counted per file name.
 */
export class TestOrigin {
  readonly files = new Map<string, OriginFile>();
  readonly hits = new Map<string, number>();
  readonly bytesSent = new Map<string, number>();
  readonly requests: Array<{
    path: string;
    url: string;
    at: number;
    headers: http.IncomingHttpHeaders;
    status?: number;
  }> = [];
  private readonly perQuery = new Map<string, number>();
  private readonly faultsFired = new Set<string>();
  private server!: http.Server;
  private etagGeneration = 0;
  private signatures = 0;
  url = '';
  /** The same server under another host name (localhost instead of 127.0.0.1). */
  otherHostUrl = '';

  /** A file of `size` bytes: a valid .safetensors file (one U8 tensor of random bytes) unless `raw`. */
  addFile(name: string, size: number, options: { raw?: boolean } = {}): OriginFile {
    const body = options.raw ? randomBytes(size) : safetensorsOf(size);
    const file = { body, sha256: createHash('sha256').update(body).digest('hex') };
    this.files.set(name, file);
    return file;
  }

  /** A file with exactly this body (for truncated or otherwise broken files). */
  addBody(name: string, body: Buffer): OriginFile {
    const file = { body, sha256: createHash('sha256').update(body).digest('hex') };
    this.files.set(name, file);
    return file;
  }

  hitCount(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  sent(name: string): number {
    return this.bytesSent.get(name) ?? 0;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.otherHostUrl = `http://localhost:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://origin');
    const q = url.searchParams;
    const queryKey = `${url.pathname}${url.search}`;
    const nth = (this.perQuery.get(queryKey) ?? 0) + 1;
    this.perQuery.set(queryKey, nth);
    this.hits.set(url.pathname, this.hitCount(url.pathname) + 1);
    const record: (typeof this.requests)[number] = {
      path: url.pathname,
      url: req.url ?? '/',
      at: Date.now(),
      headers: req.headers,
    };
    this.requests.push(record);
    const [, route, rawName = ''] = url.pathname.split('/');
    const name = decodeURIComponent(rawName);
    const file = this.files.get(name);
    const count = (n: number) => this.bytesSent.set(name, this.sent(name) + n);
    const answer = (status: number, headers: http.OutgoingHttpHeaders, body?: string | Buffer) => {
      record.status = status;
      res.writeHead(status, headers).end(body);
    };

    if (route === 'status') return answer(Number(name) || 500, { 'content-type': 'text/plain' }, `status ${name}`);
    if (route === 'redirect') {
      const to = q.get('to') ?? `/files/${rawName}`;
      const signed = q.get('sign') ? `${to}${to.includes('?') ? '&' : '?'}sig=${++this.signatures}` : to;
      return answer(302, { location: signed });
    }
    if (!file || (route !== 'files' && route !== 'slow'))
      return answer(404, { 'content-type': 'text/plain' }, 'not found');

    const failFirst = Number(q.get('failFirst') ?? 0);
    if (nth <= failFirst) {
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
      if (q.get('retryAfter')) headers['retry-after'] = q.get('retryAfter')!;
      return answer(Number(q.get('failStatus') ?? 500), headers, 'try again');
    }
    const expireAfter = q.get('expireAfter');
    if (expireAfter !== null && nth > Number(expireAfter))
      return answer(Number(q.get('expireStatus') ?? 403), { 'content-type': 'text/plain' }, 'request has expired');
    if (q.get('html')) {
      return answer(
        200,
        { 'content-type': 'text/html; charset=utf-8' },
        '<!DOCTYPE html><html><body>Please log in</body></html>',
      );
    }
    const body = q.get('htmlBody')
      ? Buffer.from('<!DOCTYPE html>\n<html><body>Sign in to download</body></html>')
      : file.body;
    const etag = `"${file.sha256.slice(0, 16)}${q.get('etagChanges') ? `-${++this.etagGeneration}` : ''}"`;
    let start = 0;
    let status = 200;
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      etag,
      'accept-ranges': 'bytes',
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    let end = body.length; // exclusive
    if (range && !q.get('noRange') && (!ifRange || ifRange === etag) && Number(range[1]) < body.length) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(body.length, Number(range[2]) + 1);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end - 1}/${body.length}`;
    }
    const payload = body.subarray(start, end);
    if (!q.get('noLength')) headers['content-length'] = payload.length + (q.get('wrongLength') ? 1000 : 0);
    if (q.get('cd')) headers['content-disposition'] = `attachment; filename="${q.get('cd')}"`;
    if (q.get('close')) headers.connection = 'close';
    record.status = status;
    res.writeHead(status, headers);

    // Faults that cut the body fire once per path and query.
    const cutAt = (param: string) => {
      const at = q.get(param);
      if (at === null || this.faultsFired.has(`${param}:${queryKey}`)) return null;
      if (q.get('rangedOnly') && status !== 206) return null;
      const n = Number(at) - start;
      if (n < 0 || n >= payload.length) return null;
      this.faultsFired.add(`${param}:${queryKey}`);
      return n;
    };
    const resetAt = cutAt('resetAt');
    const stallAt = cutAt('stallAt');
    const limit = resetAt ?? stallAt ?? payload.length;
    const pause = route === 'slow' ? Number(q.get('ms') ?? 100) : 0;
    const chunk = route === 'slow' ? Number(q.get('chunk') ?? 64 * 1024) : 256 * 1024;
    let offset = 0;
    const finish = () => {
      // A short body under a longer Content-Length: real servers close the connection there.
      if (resetAt !== null || q.get('wrongLength')) res.destroy();
      else if (stallAt !== null) {
        /* keep the connection open, send nothing more */
      } else res.end();
    };
    const pump = () => {
      while (offset < limit && !res.destroyed) {
        const piece = payload.subarray(offset, Math.min(offset + chunk, limit));
        offset += piece.length;
        count(piece.length);
        const more = res.write(piece);
        if (pause > 0 && offset < limit) return void setTimeout(pump, pause);
        if (!more) return void res.once('drain', pump);
      }
      if (!res.destroyed) finish();
    };
    pump();
  }
}
