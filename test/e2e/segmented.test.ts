import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { call, startService, type Service } from '../support/service.js';

const MiB = 1024 * 1024;
const PIECE = 4 * MiB; // what SEGMENTS=4 picks for files of 64 MiB and less

describe('segmented downloads (parallel ranges, written in place)', () => {
  const origin = new TestOrigin();
  let svc: Service;
  const fetchModel = (body: Record<string, unknown>) => call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', body);
  const rangesFor = (file: string) =>
    origin.requests.filter((r) => r.path === `/files/${file}` && r.headers.range).map((r) => r.headers.range as string);

  beforeAll(async () => {
    await origin.start();
    svc = await startService('segmented', {
      SEGMENTS: '4',
      SEGMENT_MIN_BYTES: String(8 * MiB),
      MIN_FREE_BYTES: '0',
      DOWNLOAD_BACKOFF_MS: '100',
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('fetches a large file in parallel ranges and verifies its SHA-256', async () => {
    const size = 32 * MiB + 12345;
    const file = origin.addFile('parallel.safetensors', size);
    const res = await fetchModel({
      kind: 'checkpoint',
      name: 'parallel',
      url: `${origin.url}/files/parallel.safetensors`,
      sha256: file.sha256,
    });
    expect(res.body).toMatchObject({ status: 'completed', model: { sha256: file.sha256, fileSize: size } });
    const ranges = rangesFor('parallel.safetensors');
    expect(ranges.length).toBeGreaterThanOrEqual(4);
    for (const r of ranges) expect(r).toMatch(/^bytes=\d+-\d+$/);
    expect(origin.sent('parallel.safetensors')).toBeLessThanOrEqual(size * 1.3);
    expect(svc.worker.logs.join('\n')).toContain('segmented download');
    expect(
      JSON.parse(readFileSync(path.join(svc.modelsDir, 'cache_registry.json'), 'utf8')).checkpoints.parallel.hash,
    ).toBe(file.sha256);
  });

  it('re-fetches only the remainder of a piece whose connection was reset', async () => {
    const size = 32 * MiB;
    const file = origin.addFile('piece-reset.safetensors', size);
    const at = 20 * MiB + MiB / 2; // inside the piece that starts at 20 MiB
    const res = await fetchModel({
      kind: 'checkpoint',
      name: 'piece-reset',
      url: `${origin.url}/files/piece-reset.safetensors?resetAt=${at}&rangedOnly=1`,
      sha256: file.sha256,
    });
    expect(res.body).toMatchObject({ status: 'completed', model: { sha256: file.sha256 } });
    const starts = rangesFor('piece-reset.safetensors').map((r) => Number(/^bytes=(\d+)-/.exec(r)![1]));
    // One request starts inside a piece, after the reset point's piece start, at most where it broke.
    const remainder = starts.filter((s) => s % PIECE !== 0);
    expect(remainder.length).toBe(1);
    expect(remainder[0]).toBeGreaterThan(20 * MiB);
    expect(remainder[0]).toBeLessThanOrEqual(at);
    expect(origin.sent('piece-reset.safetensors')).toBeLessThanOrEqual(size * 1.3);
  });

  it('falls back to one connection when the file changes between pieces', async () => {
    const size = 16 * MiB;
    const file = origin.addFile('changing.safetensors', size);
    const res = await fetchModel({
      kind: 'lora',
      name: 'changing',
      url: `${origin.url}/files/changing.safetensors?etagChanges=1`,
      sha256: file.sha256,
    });
    expect(res.body).toMatchObject({ status: 'completed', model: { sha256: file.sha256 } });
    expect(svc.worker.logs.join('\n')).toContain('starting over on one connection');
  });

  it('uses one connection for files below SEGMENT_MIN_BYTES', async () => {
    const file = origin.addFile('small-one.safetensors', 2 * MiB);
    const res = await fetchModel({
      kind: 'lora',
      name: 'small-one',
      url: `${origin.url}/files/small-one.safetensors`,
      sha256: file.sha256,
    });
    expect(res.body.status).toBe('completed');
    expect(rangesFor('small-one.safetensors')).toEqual([]);
  });
});
