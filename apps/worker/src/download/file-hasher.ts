import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of a file as it is being written, computed on a thread of its own.
 *
 * The writer says how far the file is final (`advance`); the thread reads that part back from
 * the page cache with one reused buffer and hashes it, so the event loop, busy with sockets and
 * writes, never spends the ~0.7 CPU-s per GiB that SHA-256 costs, and the second core does.
 * The hash covers the bytes that are on disk, not the ones that were meant to be written. One
 * thread per process serves every download in turn: SHA-256 (1.4-2 GB/s here) is faster than
 * the network the downloads share.
 */
export class FileHasher {
  private readonly id = ++lastId;
  private sent = 0;
  private settled = false;
  private readonly result: Promise<string>;
  private resolve!: (digest: string) => void;
  private reject!: (err: Error) => void;

  /** Hashes `file` from byte 0; the file must exist (open it for writing first). */
  constructor(file: string) {
    this.result = new Promise<string>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.result.catch(() => {}); // observed through finish(); never an unhandled rejection
    pending.set(this.id, this);
    thread().postMessage({ type: 'open', id: this.id, file });
  }

  /** Bytes [0, upTo) are written and will not change. */
  advance(upTo: number): void {
    if (upTo <= this.sent || this.settled) return;
    this.sent = upTo;
    shared?.postMessage({ type: 'advance', id: this.id, upTo });
  }

  /** The hex digest of bytes [0, total), once the thread has read them all. */
  finish(total: number): Promise<string> {
    if (!this.settled) shared?.postMessage({ type: 'finish', id: this.id, total });
    return this.result;
  }

  /** Stops hashing and releases the file; finish() rejects. */
  abort(): void {
    if (this.settled) return;
    shared?.postMessage({ type: 'close', id: this.id });
    this.settle(new Error('hashing stopped'));
  }

  /** @internal */
  settle(outcome: string | Error): void {
    if (this.settled) return;
    this.settled = true;
    pending.delete(this.id);
    if (typeof outcome === 'string') this.resolve(outcome);
    else this.reject(outcome);
    if (pending.size === 0) shared?.unref();
  }
}

let lastId = 0;
const pending = new Map<number, FileHasher>();
let shared: Worker | undefined;

function thread(): Worker {
  if (!shared) {
    const worker = new Worker(THREAD_SOURCE, { eval: true, name: 'model-manager sha256' });
    worker.on('message', (msg: { id: number; digest?: string; error?: string }) => {
      pending.get(msg.id)?.settle(msg.digest ?? new Error(msg.error ?? 'hashing failed'));
    });
    const fail = (err: Error) => {
      if (shared === worker) shared = undefined;
      for (const hasher of [...pending.values()])
        hasher.settle(new Error(`the hashing thread stopped: ${err.message}`));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    shared = worker;
  }
  shared.ref(); // while a download waits on it; unref'd again when none does
  return shared;
}

/** Stops the hashing thread (at shutdown; a later FileHasher starts a new one). */
export async function stopHashThread(): Promise<void> {
  const worker = shared;
  shared = undefined;
  await worker?.terminate();
}

// Plain JavaScript run with `eval`, so the thread needs no file of its own next to the build.
// Files are served in turn, at most one CHUNK each, so a large file does not hold up the rest.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const CHUNK = 4 * 1024 * 1024;
const buffer = Buffer.allocUnsafe(CHUNK);
const files = new Map();
let scheduled = false;

function close(id, file) {
  files.delete(id);
  try { closeSync(file.fd); } catch {}
}

function work() {
  scheduled = false;
  for (const [id, file] of files) {
    try {
      const goal = file.total ?? file.upTo;
      if (file.hashed > goal) throw new Error('the file was hashed to byte ' + file.hashed + ', past its end at ' + goal);
      if (file.hashed < goal) {
        const n = readSync(file.fd, buffer, 0, Math.min(CHUNK, goal - file.hashed), file.hashed);
        if (n === 0) throw new Error('the file ends at byte ' + file.hashed + ', before byte ' + goal);
        file.hash.update(buffer.subarray(0, n));
        file.hashed += n;
      }
      if (file.total !== undefined && file.hashed === file.total) {
        close(id, file);
        parentPort.postMessage({ id, digest: file.hash.digest('hex') });
      }
    } catch (err) {
      close(id, file);
      parentPort.postMessage({ id, error: err.message });
    }
  }
  schedule();
}

function schedule() {
  if (scheduled) return;
  for (const file of files.values()) {
    if (file.hashed !== (file.total ?? file.upTo) || file.total !== undefined) {
      scheduled = true;
      setImmediate(work);
      return;
    }
  }
}

parentPort.on('message', (msg) => {
  if (msg.type === 'open') {
    try {
      files.set(msg.id, { fd: openSync(msg.file, 'r'), hash: createHash('sha256'), hashed: 0, upTo: 0, total: undefined });
    } catch (err) {
      parentPort.postMessage({ id: msg.id, error: err.message });
    }
    return;
  }
  const file = files.get(msg.id);
  if (!file) return;
  if (msg.type === 'advance') file.upTo = Math.max(file.upTo, msg.upTo);
  else if (msg.type === 'finish') file.total = msg.total;
  else if (msg.type === 'close') return close(msg.id, file);
  schedule();
});
`;

/** SHA-256 of a complete file of `size` bytes, read on the hashing thread (verify, scan). */
export function hashOnThread(file: string, size: number): Promise<string> {
  return new FileHasher(file).finish(size);
}
