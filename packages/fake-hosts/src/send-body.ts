import type http from 'node:http';
import type { Answered } from './answer.js';
import { byteRange } from './byte-range.js';

const CHUNK = 256 * 1024;

export interface Body {
  bytes: Buffer;
  /** Quoted, as sent; an If-Range must equal it for a range to be honoured. */
  etag: string;
  headers: http.OutgoingHttpHeaders;
  /** Called with each piece's length as it is written. */
  onBytes?: (n: number) => void;
}

/**
 * A file body with byte ranges: 206 and Content-Range for a satisfiable Range (when If-Range is
 * absent or matches the ETag), 416 past the end, 200 with everything otherwise. Written in
 * pieces with backpressure, so a client that stops reading stops the count too.
 */
export function sendBody(req: http.IncomingMessage, res: http.ServerResponse, record: Answered, body: Body): void {
  const size = body.bytes.length;
  const headers: http.OutgoingHttpHeaders = { ...body.headers, 'accept-ranges': 'bytes', etag: body.etag };
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === body.etag ? byteRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    record.status = 416;
    res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size };
  if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
  record.status = range ? 206 : 200;
  res.writeHead(record.status, { ...headers, 'content-length': end - start });
  if (req.method === 'HEAD') return void res.end();
  let offset = start;
  const pump = () => {
    while (offset < end && !res.destroyed) {
      const piece = body.bytes.subarray(offset, Math.min(offset + CHUNK, end));
      offset += piece.length;
      body.onBytes?.(piece.length);
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}
