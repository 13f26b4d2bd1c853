import { describe, expect, it } from 'vitest';
import { HF_NO_SHA256, hfAnswer, type HfRef } from '../src/index.js';
import { thrown } from './support/source-failure.js';

const ref: HfRef = { host: 'huggingface', repo: 'o/r', path: 'dir/x.safetensors', revision: 'main' };
const SHA = 'ab'.repeat(32);
const head = (status: number, headers: Record<string, string>, authorized = false) => ({
  status,
  authorized,
  header: (name: string) => headers[name],
});

describe('hfAnswer: the metadata in the answer to a HEAD of a resolve URL', () => {
  it('reads an LFS file from the redirect to storage: SHA-256 from X-Linked-Etag, size from X-Linked-Size', () => {
    const answer = hfAnswer(
      ref,
      head(302, {
        'x-linked-etag': `"${SHA.toUpperCase()}"`,
        'x-linked-size': '42',
        etag: '"x"',
        'content-length': '0',
        'x-repo-commit': 'c1',
      }),
    );
    expect(answer).toEqual({
      found: {
        fileName: 'x.safetensors',
        sha256: SHA,
        size: 42,
        source: { host: 'huggingface', repo: 'o/r', revision: 'main', path: 'dir/x.safetensors', commit: 'c1' },
      },
    });
  });

  it('reads a file kept in git (SHA-1 ETag, weak or not): size, but no SHA-256', () => {
    for (const etag of [`"${'1'.repeat(40)}"`, `W/"${'1'.repeat(40)}"`]) {
      const answer = hfAnswer(ref, head(200, { etag, 'content-length': '7' }));
      expect(answer).toMatchObject({ found: { size: 7, noSha256Reason: HF_NO_SHA256 } });
      expect('found' in answer && answer.found.sha256).toBeFalsy();
    }
    expect(hfAnswer(ref, head(200, { etag: `W/"${SHA}"`, 'content-length': '7' }))).toMatchObject({
      found: { sha256: SHA },
    });
  });

  it.each([
    [head(200, { 'content-length': '7' }), /no ETag/],
    [head(200, { etag: '"e"', 'content-length': '-1' }), /size "-1"/],
    [head(200, { etag: '"e"', 'content-length': '7.5' }), /size "7.5"/],
    [head(200, { etag: '"e"' }), /size null/],
    // A redirect's own ETag and length describe the redirect, not the file.
    [head(302, { etag: `"${SHA}"`, 'content-length': '5' }), /no ETag/],
    [head(500, {}), /answered 500/],
    [head(429, {}), /answered 429/],
    [head(400, {}), /answered 400/],
  ])('calls a malformed or failed answer unavailable (%#)', (answer, why) => {
    const result = hfAnswer(ref, answer);
    expect('unavailable' in result && result.unavailable).toMatch(/^Hugging Face metadata unavailable: /);
    expect('unavailable' in result && result.unavailable).toMatch(why);
  });

  it('asks for HF_TOKEN for a gated or private repository', () => {
    const gated = thrown(() => hfAnswer(ref, head(401, { 'x-error-code': 'GatedRepo' })));
    expect(gated).toMatchObject({ code: 'AUTH_REQUIRED', details: { status: 401 } });
    expect(gated.message).toBe(
      'Hugging Face answered 401 for o/r: a gated or private repository; set HF_TOKEN with access to it',
    );
    // Without a token the Hub answers an unknown repository as a private one.
    expect(thrown(() => hfAnswer(ref, head(401, { 'x-error-code': 'RepoNotFound' }))).message).toMatch(
      /answered 401 for o\/r: not found, or private\/gated: set HF_TOKEN/,
    );
    const withToken = thrown(() => hfAnswer(ref, head(403, { 'x-error-code': 'GatedRepo' }, true)));
    expect(withToken).toMatchObject({ code: 'AUTH_REQUIRED', details: { status: 403 } });
    expect(withToken.message).toMatch(/answered 403 for o\/r: HF_TOKEN has no access to it/);
  });

  it.each([
    ['RepoNotFound', 'Hugging Face has no repository o/r'],
    ['RevisionNotFound', 'Hugging Face repository o/r has no revision main'],
    ['EntryNotFound', 'Hugging Face repository o/r has no file dir/x.safetensors at revision main'],
    ['', 'Hugging Face repository o/r has no file dir/x.safetensors at revision main'],
  ])('says what is missing on a 404 (%s)', (code, message) => {
    const err = thrown(() => hfAnswer(ref, head(404, code ? { 'x-error-code': code } : {})));
    expect(err).toMatchObject({ code: 'SOURCE_NOT_FOUND', message });
  });
});
