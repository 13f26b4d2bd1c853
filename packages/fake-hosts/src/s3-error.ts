import type http from 'node:http';
import { type Answered, answer } from './answer.js';

/** An error the way S3 (and R2, and the CDNs in front of them) answer a signed URL: XML. */
export function s3Error(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  record: Answered,
  status: number,
  code: string,
  message: string,
): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  answer(req, res, record, status, { 'content-type': 'application/xml' }, xml);
}
