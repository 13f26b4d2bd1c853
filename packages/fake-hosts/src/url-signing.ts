import { createHmac, timingSafeEqual } from 'node:crypto';

/** The HMAC a signed storage URL carries over the blob id and the expiry. */
export function urlSignature(key: Buffer, id: string, expires: number): string {
  return createHmac('sha256', key).update(`${id}\n${expires}`).digest('hex');
}

export function validSignature(key: Buffer, id: string, expires: number, signature: string): boolean {
  const expected = Buffer.from(urlSignature(key, id, expires));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
