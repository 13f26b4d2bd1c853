import { randomBytes } from 'node:crypto';
import { seededBytes } from './seeded-bytes.js';

/**
 * A valid safetensors file of exactly `size` bytes: 8-byte little-endian header length, JSON
 * header padded to 8 bytes, one U8 tensor filling the rest. Random content, or deterministic
 * content when a seed is given.
 */
export function safetensorsOf(size: number, seed?: string): Buffer {
  for (let guess = size; ; ) {
    let header = JSON.stringify({
      __metadata__: { format: 'pt' },
      weights: { dtype: 'U8', shape: [guess], data_offsets: [0, guess] },
    });
    header += ' '.repeat((8 - (header.length % 8)) % 8);
    const data = size - 8 - header.length;
    if (data < 1) throw new Error(`safetensorsOf: ${size} bytes is too small`);
    // The header's length depends on the tensor's size, written in it: iterate to a fixed point.
    if (data === guess) {
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(header.length));
      const tensor = seed === undefined ? randomBytes(data) : seededBytes(seed, data);
      return Buffer.concat([length, Buffer.from(header), tensor]);
    }
    guess = data;
  }
}
