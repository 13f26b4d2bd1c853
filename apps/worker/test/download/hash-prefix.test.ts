import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileHasher, hashOnThread, stopHashThread } from '../../src/download/file-hasher.js';
import { contiguousBytes, firstIncomplete, planPieces } from '../../src/download/segmented/piece-plan.js';

// What the segmented path tells the hashing thread is final: never past the end of the file.
const MiB = 1024 * 1024;
const dir = mkdtempSync(path.join(tmpdir(), 'mm-prefix-'));
afterAll(async () => {
  await stopHashThread();
  rmSync(dir, { recursive: true, force: true });
});

describe('contiguousBytes: the final prefix of a segmented file', () => {
  const plan = planPieces(10 * MiB + 5, 3, 4 * MiB); // pieces of 4, 4 and 2 MiB + 5 bytes
  it.each([
    { done: [0, 0, 0], bytes: 0 },
    { done: [MiB, 4 * MiB, 0], bytes: MiB },
    { done: [4 * MiB, 0, 2 * MiB + 5], bytes: 4 * MiB },
    { done: [4 * MiB, 4 * MiB, 7], bytes: 8 * MiB + 7 },
    { done: [4 * MiB, 4 * MiB, 2 * MiB + 5], bytes: 10 * MiB + 5 },
  ])('pieces $done: [0, $bytes) is final', ({ done, bytes }) => {
    expect(contiguousBytes(plan, done, firstIncomplete(plan, done))).toBe(bytes);
  });
});

describe('FileHasher fed the segmented prefix', () => {
  it('finishes a complete file even when finish() comes well after the last advance', async () => {
    const data = randomBytes(10 * MiB + 5);
    const file = path.join(dir, 'complete.bin');
    writeFileSync(file, data);
    const plan = planPieces(data.length, 3, 4 * MiB);
    const done = [4 * MiB, 4 * MiB, 2 * MiB + 5];
    const hasher = new FileHasher(file);
    hasher.advance(contiguousBytes(plan, done, firstIncomplete(plan, done)));
    // The thread serves its files in turn, a 4 MiB read each: by the time it has hashed a larger
    // file opened after this one, it has read all of this one that it was told is final.
    const larger = path.join(dir, 'larger.bin');
    writeFileSync(larger, randomBytes(20 * MiB));
    await hashOnThread(larger, 20 * MiB);
    expect(await hasher.finish(data.length)).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
