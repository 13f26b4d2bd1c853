import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileHasher, stopHashThread } from '../src/download/file-hasher.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mm-hasher-'));
afterAll(async () => {
  await stopHashThread();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('FileHasher', () => {
  it('hashes a file as it is written, out of order, following the final prefix', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 123);
    const file = path.join(dir, 'out-of-order.bin');
    const fh = await open(file, 'w');
    const hasher = new FileHasher(file);
    // Second half first: the hasher may only read what advance() declared final.
    const half = 5 * 1024 * 1024;
    await fh.write(data, half, data.length - half, half);
    await fh.write(data, 0, 1024 * 1024, 0);
    hasher.advance(1024 * 1024);
    await fh.write(data, 1024 * 1024, half - 1024 * 1024, 1024 * 1024);
    hasher.advance(data.length);
    await fh.close();
    expect(await hasher.finish(data.length)).toBe(sha(data));
  });

  it('serves several files at once, each with its own digest', async () => {
    const files = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const data = randomBytes(3 * 1024 * 1024 + i);
        const file = path.join(dir, `many-${i}.bin`);
        await writeFile(file, data);
        return { file, data };
      }),
    );
    const digests = await Promise.all(
      files.map(({ file, data }) => {
        const hasher = new FileHasher(file);
        hasher.advance(data.length);
        return hasher.finish(data.length);
      }),
    );
    expect(digests).toEqual(files.map(({ data }) => sha(data)));
  });

  it('fails, naming the byte, when the file is shorter than it was said to be', async () => {
    const file = path.join(dir, 'short.bin');
    await writeFile(file, randomBytes(1000));
    const hasher = new FileHasher(file);
    await expect(hasher.finish(2000)).rejects.toThrow(/ends at byte 1000, before byte 2000/);
  });

  it('fails when the file cannot be opened, and after abort()', async () => {
    await expect(new FileHasher(path.join(dir, 'missing.bin')).finish(1)).rejects.toThrow(/ENOENT/);
    const file = path.join(dir, 'aborted.bin');
    await writeFile(file, randomBytes(10));
    const hasher = new FileHasher(file);
    hasher.abort();
    await expect(hasher.finish(10)).rejects.toThrow(/stopped/);
  });
});
