import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { downloadToFile } from '../../src/download/download-to-file.js';
import { downloadSetup, failureOf } from '../support/download-setup.js';

// Resuming from a partial staging file, over one connection: the second attempt of a job asks
// for the rest (Range + If-Range) or, when the origin cannot continue, starts over.
const MiB = 1024 * 1024;
const NAME = 'resume.safetensors';
const setup = downloadSetup(NAME, 4 * MiB);
const { origin, file } = setup;
const url = (query: string) => `${origin.url}/files/${NAME}${query}`;
const requestsTo = (query: string) => origin.requests.filter((r) => r.url === `/files/${NAME}${query}`);

/** Attempt 1 is cut off by the query's fault; attempt 2 runs the same request again on the same staging file. */
async function twoAttempts(query: string, more: Parameters<typeof setup.request>[2] = {}) {
  const staging = setup.staging();
  const first = setup.request(url(query), staging, more);
  await failureOf(downloadToFile(first.req));
  const kept = await staging.size();
  const second = setup.request(url(query), staging, more);
  return { staging, kept, log: second.log, result: downloadToFile(second.req) };
}

describe('resume from a partial file', () => {
  it('asks for the rest with Range and If-Range, appends it, and hashes the whole file', async () => {
    const query = `?resetAt=${2 * MiB}`;
    const { kept, log, result } = await twoAttempts(query);
    expect(kept).toBeGreaterThan(0);
    const done = await result;
    expect(done).toMatchObject({ bytes: 4 * MiB, sha256: file().sha256, resumedFrom: kept });
    const resumed = requestsTo(query)[1]!;
    expect(resumed.headers.range).toBe(`bytes=${kept}-`);
    expect(resumed.headers['if-range']).toBe(`"${file().sha256.slice(0, 16)}"`);
    expect(resumed.status).toBe(206);
    expect(log.said('resuming download')).toBe(true);
  });

  it('starts over from byte 0 when the ETag changed (If-Range fails)', async () => {
    const { kept, log, result } = await twoAttempts(`?resetAt=${2 * MiB}&etagChanges=1`);
    expect(kept).toBeGreaterThan(0);
    expect(await result).toMatchObject({ bytes: 4 * MiB, sha256: file().sha256, resumedFrom: 0 });
    expect(log.said('origin did not continue the partial download; starting over')).toBe(true);
  });

  it('starts over from byte 0 when the origin ignores Range', async () => {
    const { kept, log, result } = await twoAttempts(`?resetAt=${2 * MiB}&noRange=1`);
    expect(kept).toBeGreaterThan(0);
    expect(await result).toMatchObject({ sha256: file().sha256, resumedFrom: 0 });
    expect(log.said('origin did not continue the partial download; starting over')).toBe(true);
  });

  it('a wrong hash after a resume is retryable once more from scratch (the kept bytes may be what is wrong)', async () => {
    const { result } = await twoAttempts(`?resetAt=${MiB}&n=hash`, { expectedSha256: 'cd'.repeat(32) });
    expect(await failureOf(result)).toMatchObject({
      code: 'HASH_MISMATCH',
      retryable: true,
      message: expect.stringContaining('(partly from an earlier attempt; trying once more from scratch)'),
    });
  });

  it('a complete staged file is verified without asking the origin again', async () => {
    const staging = setup.staging();
    await downloadToFile(setup.request(url('?n=complete'), staging).req);
    const before = origin.requests.length;
    const again = setup.request(url('?n=complete'), staging, { expectedSha256: file().sha256 });
    expect(await downloadToFile(again.req)).toMatchObject({
      bytes: 4 * MiB,
      sha256: file().sha256,
      resumedFrom: 4 * MiB,
    });
    expect(origin.requests.length).toBe(before);
    expect(again.log.said('staged file already complete; verified it instead of downloading again')).toBe(true);
  });

  it('bytes of another source are not continued', async () => {
    const staging = setup.staging();
    await failureOf(downloadToFile(setup.request(url(`?resetAt=${MiB}&n=other`), staging).req));
    expect(await staging.size()).toBeGreaterThan(0);
    const mirror = setup.request(url('?n=mirror'), staging, { sourceIndex: 1 });
    expect(await downloadToFile(mirror.req)).toMatchObject({ sha256: file().sha256, resumedFrom: 0 });
    expect(requestsTo('?n=mirror')[0]!.headers.range).toBeUndefined();
  });
});

describe('what a partial download leaves on the volume', () => {
  it('keeps no token of the URL in the staging metadata, and still resumes', async () => {
    const query = `?resetAt=${2 * MiB}&token=civitai-secret-123`;
    const { staging, kept, result } = await twoAttempts(query);
    expect(kept).toBeGreaterThan(0);
    const meta = await readFile(staging.metaPath, 'utf8');
    expect(meta).toContain('"finalUrl"');
    expect(meta).not.toContain('civitai-secret-123');
    expect(await result).toMatchObject({ sha256: file().sha256, resumedFrom: kept });
  });
});
