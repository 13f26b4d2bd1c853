import type { FileHandle } from 'node:fs/promises';

/**
 * Fault injection for tests on machines where no small filesystem can be mounted (not root):
 * writes fail with ENOSPC once a staging file would pass this many bytes. Unset in production.
 */
const injectedEnospcAfter = () => Number(process.env.MODEL_MANAGER_TEST_ENOSPC_AFTER_BYTES ?? 0);

/** Writes every buffer at `position` and on, however few bytes each writev takes. */
export async function writeAll(fh: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  const limit = injectedEnospcAfter();
  if (limit > 0 && at + buffers.reduce((n, b) => n + b.length, 0) > limit) {
    throw Object.assign(new Error('ENOSPC: no space left on device (injected for a test)'), { code: 'ENOSPC' });
  }
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, at);
    at += bytesWritten;
    let left = bytesWritten;
    let i = 0;
    while (i < rest.length && left >= rest[i]!.length) left -= rest[i++]!.length;
    rest = rest.slice(i);
    if (left > 0 && rest[0]) rest[0] = rest[0].subarray(left);
  }
}
