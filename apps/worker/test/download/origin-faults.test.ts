import { statSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelFetchError } from '@model-manager/core';
import { checkSafetensors } from '../../src/download/content-checks.js';
import { downloadToFile } from '../../src/download/download-to-file.js';
import { downloadSetup, failureOf } from '../support/download-setup.js';

// The download-level rows of README.md's "When things go wrong", each driven against the
// in-process origin through downloadToFile over one connection.
const MiB = 1024 * 1024;
const setup = downloadSetup('model.safetensors', 3 * MiB, { bodyMs: 500 });
const { origin, file } = setup;
const url = (query = '') => `${origin.url}/files/model.safetensors${query}`;
let queries = 0;
/** A query no earlier request used, so faults that fire once per query fire again. */
const fresh = (query: string) => `${query}${query ? '&' : '?'}n=${++queries}`;

// Runs after downloadSetup's own, which starts the origin with model.safetensors.
beforeAll(() => {
  origin.addBody('empty.bin', Buffer.alloc(0));
  origin.addBody('truncated.safetensors', file().body.subarray(0, 2 * MiB));
});

const download = (u: string, more: Parameters<typeof setup.request>[2] = {}) => {
  const staging = setup.staging();
  const { req, log } = setup.request(u, staging, more);
  return { staging, log, result: downloadToFile(req) };
};

describe('a body cut off, stalled or stopped keeps what arrived', () => {
  it('connection reset mid-body: SIZE_MISMATCH (with a Content-Length), retryable, bytes kept', async () => {
    const { staging, result } = download(url(fresh(`?resetAt=${MiB}`)));
    expect(await failureOf(result)).toMatchObject({
      code: 'SIZE_MISMATCH',
      retryable: true,
      message: expect.stringMatching(/^connection closed after \d+ of 3145728 bytes/),
    });
    expect(await staging.size()).toBeGreaterThan(0);
    expect(await staging.size()).toBeLessThanOrEqual(MiB);
  });

  it('connection reset mid-body without a Content-Length: NETWORK_ERROR, retryable', async () => {
    const { result } = download(url(fresh(`?resetAt=${MiB}&noLength=1`)));
    expect(await failureOf(result)).toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
  });

  it('stalled body: TIMEOUT naming DOWNLOAD_IDLE_TIMEOUT, retryable, bytes kept', async () => {
    const { staging, result } = download(url(fresh(`?stallAt=${MiB}`)));
    expect(await failureOf(result)).toMatchObject({
      code: 'TIMEOUT',
      retryable: true,
      message: expect.stringContaining('stalled: no body bytes arrived within DOWNLOAD_IDLE_TIMEOUT'),
    });
    expect(await staging.size()).toBeGreaterThan(0);
  });

  it('worker shut down mid-body: SHUTDOWN, retryable, bytes kept', async () => {
    const stop = new AbortController();
    const { staging, result } = download(`${origin.url}/slow/model.safetensors${fresh('?ms=20')}`, {
      signal: stop.signal,
      onProgress: (p) => p.bytes > 0 && stop.abort(),
    });
    expect(await failureOf(result)).toMatchObject({ code: 'SHUTDOWN', retryable: true });
    expect(await staging.size()).toBeGreaterThan(0);
  });

  it('lease lost mid-body (LOCK_LOST): stops and writes nothing more', async () => {
    let checks = 0;
    let sizeAtLoss = -1;
    const { staging, result } = download(`${origin.url}/slow/model.safetensors${fresh('?ms=20&chunk=262144')}`, {
      assertMayWrite: () => {
        if (++checks < 2) return;
        sizeAtLoss = statSync(staging.partPath).size;
        throw new ModelFetchError('LOCK_LOST', 'stopped writing: the job lock passed to another worker', {
          retryable: true,
        });
      },
    });
    expect(await failureOf(result)).toMatchObject({ code: 'LOCK_LOST' });
    expect(await staging.size()).toBe(sizeAtLoss);
  });
});

describe('no connection, no headers', () => {
  it('connection refused: NETWORK_ERROR, retryable', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const { result } = download(`http://127.0.0.1:${port}/files/model.safetensors`);
    expect(await failureOf(result)).toMatchObject({
      code: 'NETWORK_ERROR',
      retryable: true,
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('no response headers within the timeout: TIMEOUT, retryable', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const impatient = new Agent({ headersTimeout: 300 });
    try {
      const { result } = download(`http://127.0.0.1:${port}/x`, { dispatcher: impatient });
      expect(await failureOf(result)).toMatchObject({
        code: 'TIMEOUT',
        retryable: true,
        message: expect.stringContaining('no response headers within the timeout'),
      });
    } finally {
      await impatient.destroy();
      silent.close();
    }
  });
});

describe('statuses', () => {
  it.each([408, 425, 429, 500, 502, 503, 504])('%i: HTTP_ERROR with its status, retryable', async (status) => {
    const { result } = download(url(fresh(`?failFirst=1&failStatus=${status}`)));
    expect(await failureOf(result)).toMatchObject({ code: 'HTTP_ERROR', status, retryable: true, httpKind: undefined });
  });

  it('429 with Retry-After: the wait is carried to the job', async () => {
    const { result } = download(url(fresh('?failFirst=1&failStatus=429&retryAfter=30')));
    expect(await failureOf(result)).toMatchObject({
      code: 'HTTP_ERROR',
      status: 429,
      retryAfterMs: 30_000,
      message: expect.stringContaining('(Retry-After 30 s)'),
    });
  });

  it('401: AUTH_REQUIRED, not retryable', async () => {
    const { result } = download(`${origin.url}/status/401`);
    expect(await failureOf(result)).toMatchObject({ code: 'AUTH_REQUIRED', status: 401, retryable: false });
  });

  it('403 from the requested host, directly or after a redirect on it: FORBIDDEN, not retryable', async () => {
    expect(await failureOf(download(`${origin.url}/status/403`).result)).toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
      retryable: false,
    });
    const sameHost = `${origin.url}/redirect/x?to=${encodeURIComponent('/status/403')}`;
    expect(await failureOf(download(sameHost).result)).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('403 from another host a redirect led to: HTTP_ERROR EXPIRED_REDIRECT, retryable', async () => {
    const away = `${origin.url}/redirect/x?to=${encodeURIComponent(`${origin.otherHostUrl}/status/403`)}`;
    expect(await failureOf(download(away).result)).toMatchObject({
      code: 'HTTP_ERROR',
      status: 403,
      httpKind: 'EXPIRED_REDIRECT',
      retryable: true,
    });
  });

  it.each([404, 410])('%i: HTTP_ERROR NOT_FOUND, not retryable', async (status) => {
    expect(await failureOf(download(`${origin.url}/status/${status}`).result)).toMatchObject({
      code: 'HTTP_ERROR',
      status,
      httpKind: 'NOT_FOUND',
      retryable: false,
    });
  });

  it('400, a redirect without a Location, more than 10 redirects: HTTP_ERROR, not retryable', async () => {
    expect(await failureOf(download(`${origin.url}/status/400`).result)).toMatchObject({
      code: 'HTTP_ERROR',
      status: 400,
      retryable: false,
      httpKind: undefined,
    });
    expect(await failureOf(download(`${origin.url}/status/302`).result)).toMatchObject({
      code: 'HTTP_ERROR',
      message: 'HTTP 302 redirect without a Location header',
    });
    let chain = '/files/model.safetensors';
    for (let hop = 0; hop < 11; hop++) chain = `/redirect/x?to=${encodeURIComponent(chain)}`;
    expect(await failureOf(download(`${origin.url}${chain}`).result)).toMatchObject({
      code: 'HTTP_ERROR',
      message: 'more than 10 redirects',
      retryable: false,
    });
  });
});

describe('what was sent is not the model', () => {
  it('Content-Type text/html: NOT_A_MODEL before a byte is written', async () => {
    const { staging, result } = download(url('?html=1'));
    expect(await failureOf(result)).toMatchObject({
      code: 'NOT_A_MODEL',
      retryable: false,
      message: expect.stringContaining('Content-Type: text/html'),
    });
    expect(await staging.size()).toBe(0);
  });

  it('an HTML body sent as octet-stream: NOT_A_MODEL, nothing kept', async () => {
    const { staging, result } = download(url('?htmlBody=1'));
    expect(await failureOf(result)).toMatchObject({
      code: 'NOT_A_MODEL',
      message: expect.stringContaining('the body is an HTML page'),
    });
    expect(await staging.size()).toBe(0);
  });

  it('a truncated .safetensors file downloads, and its check refuses it with NOT_A_MODEL', async () => {
    const { staging, result } = download(`${origin.url}/files/truncated.safetensors`);
    await result;
    await expect(checkSafetensors(staging.partPath)).rejects.toMatchObject({
      code: 'NOT_A_MODEL',
      message: expect.stringContaining('(truncated?)'),
    });
  });

  it('a body shorter than its Content-Length: SIZE_MISMATCH, retryable', async () => {
    const { result } = download(url('?wrongLength=1'));
    expect(await failureOf(result)).toMatchObject({ code: 'SIZE_MISMATCH', retryable: true });
  });

  it('an empty body: EMPTY_FILE, retryable', async () => {
    const { result } = download(`${origin.url}/files/empty.bin`);
    expect(await failureOf(result)).toMatchObject({
      code: 'EMPTY_FILE',
      retryable: true,
      message: 'the origin sent an empty body',
    });
  });

  it('another SHA-256: HASH_MISMATCH, not retryable when nothing was resumed', async () => {
    const { result } = download(url(), { expectedSha256: 'ab'.repeat(32) });
    expect(await failureOf(result)).toMatchObject({
      code: 'HASH_MISMATCH',
      retryable: false,
      message: `sha256 is ${file().sha256}, expected ${'ab'.repeat(32)}`,
    });
  });

  it('a body past maxBytes: TOO_LARGE; checkResponse sees the size first and may refuse', async () => {
    expect(await failureOf(download(url('?noLength=1'), { maxBytes: MiB }).result)).toMatchObject({
      code: 'TOO_LARGE',
      retryable: false,
    });
    const seen: Array<number | null> = [];
    const refuse = download(url(), {
      checkResponse: ({ totalBytes }) => {
        seen.push(totalBytes);
        throw new ModelFetchError('UNSAFE_FORMAT', 'refused', { retryable: false });
      },
    });
    expect(await failureOf(refuse.result)).toMatchObject({ code: 'UNSAFE_FORMAT' });
    expect(seen).toEqual([3 * MiB]);
    expect(await refuse.staging.size()).toBe(0);
  });
});

describe('the disk', () => {
  it('no room before writing (beforeWrite refuses): DISK_FULL, no staging file made', async () => {
    const { staging, result } = download(url(), {
      beforeWrite: async (remaining) => {
        throw new ModelFetchError('DISK_FULL', `not enough space for ${remaining} bytes`, { retryable: false });
      },
    });
    expect(await failureOf(result)).toMatchObject({
      code: 'DISK_FULL',
      message: `not enough space for ${3 * MiB} bytes`,
    });
    expect(await staging.size()).toBe(0);
  });

  it('ENOSPC while writing: DISK_FULL naming the staging file, not retryable', async () => {
    process.env.MODEL_MANAGER_TEST_ENOSPC_AFTER_BYTES = String(MiB);
    try {
      const { staging, result } = download(url());
      expect(await failureOf(result)).toMatchObject({
        code: 'DISK_FULL',
        retryable: false,
        message: `no space left on the volume while writing ${staging.partPath}`,
      });
    } finally {
      delete process.env.MODEL_MANAGER_TEST_ENOSPC_AFTER_BYTES;
    }
  });
});
