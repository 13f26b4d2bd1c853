import { describe, expect, it } from 'vitest';
import { MAX_HOLD_SECONDS, prepareInSlices } from '../src/long-wait.js';
import type { PrepareRequest, PrepareResult } from '../src/index.js';

const url = 'https://example.com/x';
const timeout = (kind: 'checkpoint' | 'lora', name: string) => ({
  kind,
  name,
  error: { code: 'WAIT_TIMEOUT', message: 'job 1 goes on' },
});

describe('prepare() waits longer than one request may hold by asking again', () => {
  it('asks again for what did not finish, never again for what failed for good, and keeps one lease', async () => {
    const request: PrepareRequest = {
      checkpoint: { name: 'base', url },
      loras: [
        { name: 'gone', url, scale: 0.5 },
        { name: 'detail', url, scale: 0.8 },
      ],
      prompt: 'p',
    };
    const calls: Array<{ request: PrepareRequest; hold: number }> = [];
    const released: string[] = [];
    const answers: PrepareResult[] = [
      {
        checkpointPath: null,
        loras: [{ name: 'detail', path: '/m/loras/detail.safetensors', scale: 0.8 }],
        embeddings: [],
        prompt: '<lora:detail:0.8> p',
        failed: [
          timeout('checkpoint', 'base'),
          { kind: 'lora', name: 'gone', error: { code: 'HTTP_ERROR', message: 'HTTP 404', status: 404 } },
        ],
        downloaded: [{ kind: 'lora', name: 'detail' }],
        unverified: [],
        leaseId: 'lease-1',
      },
      {
        checkpointPath: '/m/checkpoints/base.safetensors',
        loras: [{ name: 'detail', path: '/m/loras/detail.safetensors', scale: 0.8 }],
        embeddings: [],
        prompt: '<lora:detail:0.8> p',
        failed: [],
        downloaded: [{ kind: 'checkpoint', name: 'base' }],
        unverified: [],
        leaseId: 'lease-2',
      },
    ];
    const result = await prepareInSlices(
      async (pending, hold) => {
        calls.push({ request: pending, hold });
        return answers[calls.length - 1]!;
      },
      async (leaseId) => void released.push(leaseId),
      request,
      600,
    );
    expect(calls.map((c) => c.hold)).toEqual([MAX_HOLD_SECONDS, MAX_HOLD_SECONDS]);
    expect(calls[1]!.request).toEqual({
      checkpoint: { name: 'base', url },
      loras: [{ name: 'detail', url, scale: 0.8 }],
      prompt: 'p',
    });
    expect(result).toMatchObject({
      checkpointPath: '/m/checkpoints/base.safetensors',
      leaseId: 'lease-2',
      failed: [{ name: 'gone', error: { code: 'HTTP_ERROR' } }],
    });
    expect(released).toEqual(['lease-1']);
    // "detail" was a cache hit in the second slice, but this call did download it.
    expect(result.downloaded).toEqual([
      { kind: 'lora', name: 'detail' },
      { kind: 'checkpoint', name: 'base' },
    ]);
  });

  it('asks once when the wait fits in one request, and reports what did not finish', async () => {
    const holds: number[] = [];
    const answer: PrepareResult = {
      checkpointPath: null,
      loras: [],
      embeddings: [],
      prompt: '',
      failed: [timeout('checkpoint', 'base')],
      downloaded: [],
      unverified: [],
    };
    const call = async (_pending: PrepareRequest, hold: number) => {
      holds.push(hold);
      return answer;
    };
    const result = await prepareInSlices(call, async () => undefined, { checkpoint: { name: 'base', url } }, 30);
    expect(holds).toEqual([30]);
    expect(result.failed).toEqual([timeout('checkpoint', 'base')]);
  });

  it('leaves out a reference refused by the host, and lists a failure it could not tell apart once', async () => {
    const notFound = { code: 'SOURCE_NOT_FOUND', message: 'no such version' };
    const mismatch = { code: 'HASH_MISMATCH', message: 'sha256 differs' };
    const request: PrepareRequest = {
      checkpoint: { source: 'hf:org/base/base.safetensors' },
      loras: [
        { source: 'civitai:999', scale: 0.5 },
        { source: 'civitai:2', scale: 0.8 },
      ],
    };
    const pending: PrepareRequest[] = [];
    const answers: PrepareResult[] = [
      {
        checkpointPath: null,
        loras: [],
        embeddings: [],
        prompt: '',
        // Refused before its name was known: named by its reference. The other failed after the
        // host named it "detail", which the client cannot match to a request without a name.
        failed: [
          timeout('checkpoint', 'base'),
          { kind: 'lora', name: 'civitai:999', error: notFound },
          { kind: 'lora', name: 'detail', error: mismatch },
        ],
        downloaded: [],
        unverified: [],
      },
      {
        checkpointPath: '/m/checkpoints/base.safetensors',
        loras: [],
        embeddings: [],
        prompt: '',
        failed: [{ kind: 'lora', name: 'detail', error: mismatch }],
        downloaded: [{ kind: 'checkpoint', name: 'base' }],
        unverified: [],
      },
    ];
    const result = await prepareInSlices(
      async (asked) => answers[pending.push(asked) - 1]!,
      async () => undefined,
      request,
      600,
    );
    expect(pending[1]).toEqual({ ...request, loras: [{ source: 'civitai:2', scale: 0.8 }] });
    // A URL refused before its name was known is named as the API keeps it, normalised.
    const byUrl: PrepareRequest = {
      checkpoint: { name: 'base', url },
      embeddings: [{ url: 'HTTPS://Example.com/a b.pt' }],
      prompt: 'p',
    };
    const asked: PrepareRequest[] = [];
    await prepareInSlices(
      async (p) => {
        asked.push(p);
        return {
          checkpointPath: null,
          loras: [],
          embeddings: [],
          prompt: 'p',
          downloaded: [],
          unverified: [],
          failed:
            asked.length === 1
              ? [
                  { kind: 'embedding', name: 'https://example.com/a%20b.pt', error: notFound },
                  timeout('checkpoint', 'base'),
                ]
              : [],
        };
      },
      async () => undefined,
      byUrl,
      600,
    );
    expect(asked[1]).toEqual({ checkpoint: { name: 'base', url }, embeddings: [], prompt: 'p' });
    expect(result.failed).toEqual([
      { kind: 'lora', name: 'civitai:999', error: notFound },
      { kind: 'lora', name: 'detail', error: mismatch },
    ]);
  });
});
