// BLAKE3 (hash mode, 32-byte output) after the reference implementation: node:crypto has none,
// and Civitai publishes one for every file.
import { endianness } from 'node:os';
import { IV, compress } from './blake3-compress.js';

const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
const CHUNK_LEN = 1024;
const BLOCK_LEN = 64;

/** The input as little-endian words, without a copy where the platform allows it. */
function wordsOf(data: Buffer): Int32Array {
  const count = Math.floor(data.length / 4);
  if (endianness() === 'LE' && data.byteOffset % 4 === 0) return new Int32Array(data.buffer, data.byteOffset, count);
  const words = new Int32Array(count);
  for (let i = 0; i < count; i++) words[i] = data.readInt32LE(i * 4);
  return words;
}

/** The block being compressed. */
const m = new Int32Array(16);

/** Loads the block at `offset` into `m`, zero-padded past `end`. */
function load(data: Buffer, words: Int32Array, offset: number, end: number): void {
  if (offset + BLOCK_LEN <= end) {
    m.set(words.subarray(offset / 4, offset / 4 + 16));
  } else {
    const block = Buffer.alloc(BLOCK_LEN);
    data.copy(block, 0, offset, end);
    for (let i = 0; i < 16; i++) m[i] = block.readInt32LE(i * 4);
  }
}

/**
 * Runs a chunk's blocks through `cv`, all of them, or with `last` all but the final one, whose
 * compression is left to the caller (it may be the root): its block stays in `m`.
 */
function chunk(data: Buffer, words: Int32Array, index: number, cv: Int32Array, last: boolean) {
  const start = index * CHUNK_LEN;
  const end = Math.min(start + CHUNK_LEN, data.length);
  const blocks = Math.max(1, Math.ceil((end - start) / BLOCK_LEN));
  cv.set(IV);
  for (let b = 0; ; b++) {
    const offset = start + b * BLOCK_LEN;
    load(data, words, offset, end);
    const blockLen = Math.min(BLOCK_LEN, end - offset);
    const flags = (b === 0 ? CHUNK_START : 0) | (b === blocks - 1 ? CHUNK_END : 0);
    if (b === blocks - 1 && last) return { blockLen, flags };
    compress(cv, m, index, blockLen, flags, cv);
    if (b === blocks - 1) return { blockLen, flags };
  }
}

/** Loads the parent block of two chaining values into `m`. */
function loadParent(left: Int32Array, right: Int32Array): void {
  m.set(left, 0);
  m.set(right, 8);
}

/** Lower-case hex BLAKE3 of `data`. */
export function blake3(data: Buffer): string {
  const words = wordsOf(data);
  const chunks = Math.max(1, Math.ceil(data.length / CHUNK_LEN));
  const stack: Int32Array[] = [];
  for (let i = 0; i < chunks - 1; i++) {
    const cv = new Int32Array(8);
    chunk(data, words, i, cv, false);
    // Merge every subtree this chunk completes: as many as the trailing zero bits of the count.
    for (let total = i + 1; (total & 1) === 0; total /= 2) {
      loadParent(stack.pop()!, cv);
      compress(IV, m, 0, BLOCK_LEN, PARENT, cv);
    }
    stack.push(cv);
  }
  // The last node is compressed with ROOT: the final chunk if it is alone, else the top parent.
  const cv = new Int32Array(8);
  let { blockLen, flags } = chunk(data, words, chunks - 1, cv, true);
  let counter = chunks - 1;
  while (stack.length > 0) {
    const right = new Int32Array(8);
    compress(cv, m, counter, blockLen, flags, right);
    loadParent(stack.pop()!, right);
    cv.set(IV);
    [counter, blockLen, flags] = [0, BLOCK_LEN, PARENT];
  }
  const out = new Int32Array(8);
  compress(cv, m, counter, blockLen, flags | ROOT, out);
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) bytes.writeInt32LE(out[i]!, i * 4);
  return bytes.toString('hex');
}
