import { describe, expect, it } from 'vitest';
import { downloadToFile } from '../../src/download/download-to-file.js';
import { downloadSetup, failureOf, SEGMENTED, SEGMENTED_SIZE } from '../support/download-setup.js';

// A segmented download behind a redirect (an API host that signs a storage URL): the chain is
// followed once per attempt, and again only when the storage URL stops answering.
const MiB = 1024 * 1024;
const NAME = 'behind.safetensors';
const setup = downloadSetup(NAME, SEGMENTED_SIZE);
const { origin, file } = setup;

/** `/redirect/NAME` on `base` (this origin by default), leading to `to`, with `more` query parameters. */
const redirect = (to: string, more: Record<string, string> = {}, base = origin.url) =>
  `${base}/redirect/${NAME}?${new URLSearchParams({ to, ...more })}`;
/** The requests made since `mark` (an index into origin.requests). */
const since = (mark: number) => origin.requests.slice(mark);
const redirects = (mark: number) => since(mark).filter((r) => r.path === `/redirect/${NAME}`);
const fileRequests = (mark: number) => since(mark).filter((r) => r.path !== `/redirect/${NAME}`);
const rangeStart = (r: { headers: { range?: string } }) => Number(/^bytes=(\d+)-/.exec(r.headers.range ?? '')?.[1]);

/** A token for the host the request started at only, as the worker's rules give one. */
function recordingAuthorization() {
  const startedAt: string[] = [];
  const authorization = (hop: string, start: string) => {
    startedAt.push(start);
    return new URL(hop).host === new URL(start).host ? 'Bearer secret' : undefined;
  };
  return { authorization, startedAt };
}

describe('one redirect per download, not per piece', () => {
  it('follows the redirect once; every piece asks the final URL', async () => {
    const mark = origin.requests.length;
    const { req } = setup.request(redirect(`/files/${NAME}?n=once`), setup.staging(), SEGMENTED);
    expect(await downloadToFile(req)).toMatchObject({ bytes: SEGMENTED_SIZE, sha256: file().sha256, segments: 3 });
    expect(redirects(mark)).toHaveLength(1);
    const pieces = fileRequests(mark);
    expect(pieces.map((r) => r.url)).toEqual(Array(3).fill(`/files/${NAME}?n=once`));
    expect(pieces.slice(1).map((r) => r.status)).toEqual([206, 206]);
    expect(pieces.slice(1).map(rangeStart).sort()).toEqual([4 * MiB, 8 * MiB]);
  });

  it('a storage URL that starts answering 403 is resolved again from the original URL, and the download completes', async () => {
    const mark = origin.requests.length;
    // Pieces 1 and 2 one after the other: the first is the URL's 2nd request, the second its 3rd (expired).
    const { req, log } = setup.request(
      redirect(`/files/${NAME}?expireAfter=2&n=expire`, { sign: '1' }),
      setup.staging(),
      { ...SEGMENTED, segments: 2 },
    );
    expect(await downloadToFile(req)).toMatchObject({ bytes: SEGMENTED_SIZE, sha256: file().sha256 });
    expect(redirects(mark)).toHaveLength(2);
    const signed = (n: number) => `/files/${NAME}?expireAfter=2&n=expire&sig=${n}`;
    expect(fileRequests(mark).map((r) => [r.url, r.status])).toEqual([
      [signed(1), 200],
      [signed(1), 206],
      [signed(1), 403],
      [signed(2), 206],
    ]);
    expect(log.said('the resolved URL stopped answering (expired?); resolving it again')).toBe(true);
  });

  it('so does one that answers 410', async () => {
    const mark = origin.requests.length;
    const { req } = setup.request(
      redirect(`${origin.otherHostUrl}/files/${NAME}?expireAfter=2&expireStatus=410&n=gone`, { sign: '1' }),
      setup.staging(),
      { ...SEGMENTED, segments: 2 },
    );
    expect(await downloadToFile(req)).toMatchObject({ sha256: file().sha256 });
    expect(redirects(mark)).toHaveLength(2);
    expect(fileRequests(mark).map((r) => r.status)).toEqual([200, 206, 410, 206]);
  });

  it('re-resolves as often as the storage URLs expire, each piece at most once per try', async () => {
    const mark = origin.requests.length;
    // Every signed URL serves one request only: each piece needs a chain of its own.
    const { req } = setup.request(
      redirect(`/files/${NAME}?expireAfter=1&n=often`, { sign: '1' }),
      setup.staging(),
      SEGMENTED,
    );
    expect(await downloadToFile(req)).toMatchObject({ bytes: SEGMENTED_SIZE, sha256: file().sha256 });
    const served = fileRequests(mark).filter((r) => r.status === 200 || r.status === 206);
    expect(served).toHaveLength(3);
    expect(new Set(served.map((r) => r.url)).size).toBe(3);
  });

  it('a 403 from the original host itself is not an expiry: FORBIDDEN, nothing resolved again', async () => {
    const mark = origin.requests.length;
    const { req } = setup.request(`${origin.url}/files/${NAME}?expireAfter=1&n=own`, setup.staging(), SEGMENTED);
    expect(await failureOf(downloadToFile(req))).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(redirects(mark)).toHaveLength(0);
  });

  it('never sends the token to the storage host, the pieces included', async () => {
    const mark = origin.requests.length;
    const auth = recordingAuthorization();
    const url = redirect(`${origin.otherHostUrl}/files/${NAME}?n=token`);
    const { req } = setup.request(url, setup.staging(), { ...SEGMENTED, authorization: auth.authorization });
    expect(await downloadToFile(req)).toMatchObject({ sha256: file().sha256 });
    expect(redirects(mark).map((r) => r.headers.authorization)).toEqual(['Bearer secret']);
    const pieces = fileRequests(mark);
    expect(pieces).toHaveLength(3);
    for (const piece of pieces) expect(piece.headers.authorization).toBeUndefined();
    // Every hop is judged against the URL the download started at, never the storage URL.
    expect(new Set(auth.startedAt)).toEqual(new Set([url]));
  });

  it('nor to the starting host when the chain came back to it after leaving', async () => {
    const mark = origin.requests.length;
    const auth = recordingAuthorization();
    const back = redirect(`${origin.url}/files/${NAME}?n=back`, {}, origin.otherHostUrl);
    const { req } = setup.request(redirect(back), setup.staging(), { ...SEGMENTED, authorization: auth.authorization });
    expect(await downloadToFile(req)).toMatchObject({ sha256: file().sha256 });
    const pieces = fileRequests(mark);
    expect(pieces.map((r) => r.url)).toEqual(Array(3).fill(`/files/${NAME}?n=back`));
    for (const piece of pieces) expect(piece.headers.authorization).toBeUndefined();
  });

  it('a resumed attempt follows the redirect from the original URL again, once', async () => {
    const staging = setup.staging();
    const stop = new AbortController();
    const first = setup.request(redirect(`/slow/${NAME}?ms=50&chunk=262144&n=resume`), staging, {
      ...SEGMENTED,
      signal: stop.signal,
      onProgress: (p) => p.bytes > 0 && stop.abort(),
    });
    expect(await failureOf(downloadToFile(first.req))).toMatchObject({ code: 'SHUTDOWN' });
    expect((await staging.readMeta())?.pieces).toHaveLength(3);

    const mark = origin.requests.length;
    const second = setup.request(redirect(`/files/${NAME}?n=resume2`), staging, SEGMENTED);
    const done = await downloadToFile(second.req);
    expect(done).toMatchObject({ bytes: SEGMENTED_SIZE, sha256: file().sha256 });
    expect(done.resumedFrom).toBeGreaterThan(0);
    expect(redirects(mark)).toHaveLength(1);
    for (const piece of fileRequests(mark)) expect(piece.url).toBe(`/files/${NAME}?n=resume2`);
  });
});
