import { createCipheriv, createHash } from 'node:crypto';

/**
 * `size` pseudo-random bytes that depend only on `seed`: the AES-256-CTR keystream under a key
 * derived from the seed. Fast enough for tens of MiB, and the same on every run and machine.
 */
export function seededBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}
