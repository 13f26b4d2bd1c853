import { describe, expect, it } from 'vitest';
import { downloadToFile } from '../../src/download/download-to-file.js';
import { writeStagingMeta } from '../../src/download/staging/staging-meta.js';
import { downloadSetup, failureOf, SEGMENTED, SEGMENTED_SIZE } from '../support/download-setup.js';

// The segmented path through downloadToFile: pieces of 4 MiB over three connections.
const MiB = 1024 * 1024;
const NAME = 'big.safetensors';
const setup = downloadSetup(NAME, SEGMENTED_SIZE);
const { origin, file } = setup;

describe('segmented download', () => {
  it('fetches the pieces in parallel ranges and hashes the whole file', async () => {
    const { req, log } = setup.request(`${origin.url}/files/${NAME}?n=plain`, setup.staging(), SEGMENTED);
    expect(await downloadToFile(req)).toMatchObject({
      bytes: SEGMENTED_SIZE,
      sha256: file().sha256,
      segments: 3,
      resumedFrom: 0,
    });
    expect(log.lines.find((l) => l.msg === 'segmented download')).toMatchObject({ pieces: 3 });
  });

  it('a piece reset mid-body fetches only its remainder, within the attempt', async () => {
    const { req, log } = setup.request(
      `${origin.url}/files/${NAME}?resetAt=${5 * MiB}&rangedOnly=1`,
      setup.staging(),
      SEGMENTED,
    );
    expect(await downloadToFile(req)).toMatchObject({ sha256: file().sha256 });
    expect(log.lines.find((l) => l.msg === 'piece failed; fetching its remainder again')).toMatchObject({
      piece: 1,
      code: 'NETWORK_ERROR',
    });
    // Piece 1 spans [4 MiB, 8 MiB): its second request starts where the reset left it, not at 4 MiB.
    const starts = origin.requests
      .filter((r) => r.url.includes('resetAt'))
      .map((r) => Number(/^bytes=(\d+)-/.exec(r.headers.range ?? '')?.[1]));
    expect(starts.filter((at) => at > 4 * MiB && at < 8 * MiB)).toHaveLength(1);
  });

  it('piece-level resume: a later attempt fetches only what each piece lacks', async () => {
    const staging = setup.staging();
    const stop = new AbortController();
    const first = setup.request(`${origin.url}/slow/${NAME}?ms=50&chunk=262144`, staging, {
      ...SEGMENTED,
      signal: stop.signal,
      onProgress: (p) => p.bytes > 0 && stop.abort(),
    });
    expect(await failureOf(downloadToFile(first.req))).toMatchObject({ code: 'SHUTDOWN' });
    const meta = await staging.readMeta();
    expect(meta?.pieces).toHaveLength(3);
    const kept = meta!.pieces!.reduce((n, d) => n + d, 0);
    expect(kept).toBeGreaterThan(0);

    const sentBefore = origin.sent(NAME);
    const second = setup.request(`${origin.url}/files/${NAME}?n=resume`, staging, SEGMENTED);
    expect(await downloadToFile(second.req)).toMatchObject({
      bytes: SEGMENTED_SIZE,
      sha256: file().sha256,
      resumedFrom: kept,
    });
    expect(second.log.said('resuming segmented download')).toBe(true);
    expect(origin.sent(NAME) - sentBefore).toBe(SEGMENTED_SIZE - kept);
  });

  it('a file that changed between pieces is dropped, and the next attempt uses one connection', async () => {
    const staging = setup.staging();
    const url = `${origin.url}/files/${NAME}?etagChanges=1`;
    const first = setup.request(url, staging, SEGMENTED);
    expect(await failureOf(downloadToFile(first.req))).toMatchObject({
      code: 'SIZE_MISMATCH',
      message: expect.stringContaining('starting over on one connection'),
    });
    expect(await staging.readMeta()).toMatchObject({ noSegments: true });
    const second = setup.request(url, staging, SEGMENTED);
    const done = await downloadToFile(second.req);
    expect(done).toMatchObject({ sha256: file().sha256 });
    expect(done.segments).toBeUndefined();
  });
});

describe('the list of dead sources survives every write of the staging metadata', () => {
  const onMirror = async () => {
    const staging = setup.staging();
    await writeStagingMeta(staging, { url: `${origin.url}/gone`, sourceIndex: 1, deadSources: [0] });
    return staging;
  };

  it('when a segmented download records its pieces', async () => {
    const staging = await onMirror();
    const stop = new AbortController();
    const { req } = setup.request(`${origin.url}/slow/${NAME}?ms=50&chunk=262144&n=dead`, staging, {
      ...SEGMENTED,
      sourceIndex: 1,
      signal: stop.signal,
      onProgress: () => stop.abort(),
    });
    await failureOf(downloadToFile(req));
    expect(await staging.readMeta()).toMatchObject({ sourceIndex: 1, deadSources: [0], pieces: expect.any(Array) });
  });

  it('when a segmented download falls back to one connection (the file changed)', async () => {
    const staging = await onMirror();
    const { req } = setup.request(`${origin.url}/files/${NAME}?etagChanges=1&n=dead`, staging, {
      ...SEGMENTED,
      sourceIndex: 1,
    });
    await failureOf(downloadToFile(req));
    expect(await staging.readMeta()).toMatchObject({ sourceIndex: 1, noSegments: true, deadSources: [0] });
  });

  it('when a single-connection download records its validator', async () => {
    const staging = await onMirror();
    const { req } = setup.request(`${origin.url}/files/${NAME}?resetAt=${MiB}&n=dead`, staging, { sourceIndex: 1 });
    await failureOf(downloadToFile(req));
    expect(await staging.readMeta()).toMatchObject({ sourceIndex: 1, deadSources: [0], etag: expect.any(String) });
  });
});
