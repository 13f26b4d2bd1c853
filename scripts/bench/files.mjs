// Test files for the benchmarks: random bytes (incompressible, no page shared), and their SHA-256.
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';

const MiB = 1024 * 1024;

export function makeFile(file, size) {
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(64 * MiB);
  for (let left = size; left > 0; left -= buf.length) {
    randomFillSync(buf);
    writeSync(fd, buf, 0, Math.min(buf.length, left));
  }
  closeSync(fd);
}

export async function sha256Of(file, highWaterMark = MiB) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark })) hash.update(chunk);
  return hash.digest('hex');
}
