import type http from 'node:http';

/** What every recorded request carries: its answer's status, 0 until answered. */
export interface Answered {
  status: number;
}

/** Ends the exchange with a status and a small body (none for HEAD, whose length is still given). */
export function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  record: Answered,
  status: number,
  headers: http.OutgoingHttpHeaders,
  body: string | Buffer = '',
): void {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  record.status = status;
  res.writeHead(status, { ...headers, 'content-length': payload.length });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

export function answerJson(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  record: Answered,
  status: number,
  value: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const type = { 'content-type': 'application/json; charset=utf-8' };
  answer(req, res, record, status, { ...headers, ...type }, JSON.stringify(value));
}
