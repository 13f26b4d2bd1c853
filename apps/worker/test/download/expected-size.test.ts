import { describe, expect, it } from 'vitest';
import { ModelFetchError } from '@model-manager/core';
import { downloadToFile } from '../../src/download/download-to-file.js';
import type { DownloadRequest } from '../../src/download/download-request.js';
import { downloadSetup, failureOf } from '../support/download-setup.js';

// The size the host published (a Hugging Face or Civitai reference), known before the first
// byte: checked against MAX_MODEL_BYTES and made room for before any request, and compared
// with what the origin serves.
const MiB = 1024 * 1024;
const NAME = 'sized.safetensors';
const SIZE = 3 * MiB + 777;
const setup = downloadSetup(NAME, SIZE);
const { origin, file } = setup;
let queries = 0;
/** The file's URL under a query no other request used (faults fire once per query). */
const url = (query = '') => `${origin.url}/files/${NAME}?${query}${query ? '&' : ''}n=${++queries}`;

/** beforeWrite calls, each with how many requests the origin had seen by then. */
function roomLog(refuse = false) {
  const calls: Array<{ remaining: number | null; requestsBefore: number }> = [];
  const beforeWrite = async (remaining: number | null) => {
    calls.push({ remaining, requestsBefore: origin.requests.length });
    if (refuse) throw new ModelFetchError('DISK_FULL', 'not enough space (test)', { retryable: false });
  };
  return { calls, beforeWrite };
}

const download = (u: string, more: Partial<DownloadRequest>, staging = setup.staging()) => {
  const { req, log } = setup.request(u, staging, more);
  return { staging, log, result: downloadToFile(req) };
};

describe('a size over MAX_MODEL_BYTES', () => {
  it('fails with TOO_LARGE at once: no request, no room made', async () => {
    const mark = origin.requests.length;
    const room = roomLog();
    const { result } = download(url(), { expectedSize: SIZE, maxBytes: SIZE - 1, beforeWrite: room.beforeWrite });
    expect(await failureOf(result)).toMatchObject({
      code: 'TOO_LARGE',
      retryable: false,
      message: `the host says the file is ${SIZE} bytes, more than MAX_MODEL_BYTES (${SIZE - 1})`,
    });
    expect(origin.requests.length).toBe(mark);
    expect(room.calls).toEqual([]);
  });
});

describe('room for the published size', () => {
  it('is made before the first request, once', async () => {
    const room = roomLog();
    const mark = origin.requests.length;
    const { result } = download(url(), { expectedSize: SIZE, maxBytes: SIZE, beforeWrite: room.beforeWrite });
    expect(await result).toMatchObject({ bytes: SIZE, sha256: file().sha256 });
    expect(room.calls).toEqual([{ remaining: SIZE, requestsBefore: mark }]);
  });

  it('a volume without that room fails with DISK_FULL, and no request is made', async () => {
    const mark = origin.requests.length;
    const { result } = download(url(), { expectedSize: SIZE, beforeWrite: roomLog(true).beforeWrite });
    expect(await failureOf(result)).toMatchObject({ code: 'DISK_FULL' });
    expect(origin.requests.length).toBe(mark);
  });

  it('in a segmented download too', async () => {
    const room = roomLog();
    const mark = origin.requests.length;
    const { result } = download(url(), {
      expectedSize: SIZE,
      segments: 2,
      segmentMinBytes: MiB,
      beforeWrite: room.beforeWrite,
    });
    expect(await result).toMatchObject({ bytes: SIZE, sha256: file().sha256, segments: 2 });
    expect(room.calls).toEqual([{ remaining: SIZE, requestsBefore: mark }]);
  });

  it('on a resume, less the bytes kept; the whole size again when the origin starts over', async () => {
    const staging = setup.staging();
    await failureOf(download(url(`resetAt=${MiB}`), {}, staging).result);
    const kept = await staging.size();
    expect(kept).toBeGreaterThan(0);
    const resumed = roomLog();
    const again = download(url(), { expectedSize: SIZE, beforeWrite: resumed.beforeWrite }, staging);
    expect(await again.result).toMatchObject({ sha256: file().sha256, resumedFrom: kept });
    expect(resumed.calls.map((c) => c.remaining)).toEqual([SIZE - kept]);

    const other = setup.staging();
    await failureOf(download(url(`resetAt=${MiB}`), {}, other).result);
    const keptOther = await other.size();
    const restarted = roomLog();
    const over = download(url('noRange=1'), { expectedSize: SIZE, beforeWrite: restarted.beforeWrite }, other);
    expect(await over.result).toMatchObject({ sha256: file().sha256, resumedFrom: 0 });
    expect(restarted.calls.map((c) => c.remaining)).toEqual([SIZE - keptOther, SIZE]);
  });
});

describe('a file of another size than the host published', () => {
  it('fails with SIZE_MISMATCH (retried) on the response headers, before a byte is written', async () => {
    const { staging, result } = download(url(), { expectedSize: SIZE + 1 });
    expect(await failureOf(result)).toMatchObject({
      code: 'SIZE_MISMATCH',
      retryable: true,
      message: `the origin says the file is ${SIZE} bytes, but the host published ${SIZE + 1}`,
    });
    expect(await staging.size()).toBe(0);
  });

  it('without a Content-Length: a body shorter than published fails once it ends', async () => {
    const { result } = download(url('noLength=1'), { expectedSize: SIZE + 1 });
    expect(await failureOf(result)).toMatchObject({
      code: 'SIZE_MISMATCH',
      retryable: true,
      message: `the body was ${SIZE} bytes, but the host published ${SIZE + 1}`,
    });
  });

  it('without a Content-Length: a body longer than published is cut off there', async () => {
    const { staging, result } = download(url('noLength=1'), { expectedSize: MiB });
    expect(await failureOf(result)).toMatchObject({
      code: 'SIZE_MISMATCH',
      retryable: true,
      message: `the body ran past the ${MiB} bytes the host published`,
    });
    expect(await staging.size()).toBeLessThanOrEqual(MiB);
  });
});
