import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AuthRequiredError,
  ConflictError,
  HashConflictError,
  InvalidRequestError,
  ModelManagerClient,
  NotFoundError,
  SourceNotFoundError,
  UnverifiedError,
  errorFromAnswer,
  type BatchView,
  type Model,
} from '../src/index.js';
import { MAX_HOLD_SECONDS } from '../src/long-wait.js';

/*
 * Source references against a tiny HTTP server that answers as the API does when it resolves
 * `source` through a host (no host needed): what the client sends, and how it reads `linked`,
 * `verified` and the refusals.
 */

const model: Model = {
  kind: 'lora',
  name: 'detail',
  path: '/m/loras/detail.safetensors',
  url: 'https://civitai.com/api/download/models/135867',
  sha256: 'a'.repeat(64),
  fileSize: 300,
  downloadedAt: 't',
  lastUsed: 't',
  usageCount: 1,
  pinned: false,
  source: { host: 'civitai', versionId: 135867, modelId: 122359 },
};

type Reply = { status: number; body: unknown };
const error = (status: number, code: string, details?: unknown): Reply => ({
  status,
  body: { error: { code, message: `${code.toLowerCase()} here`, ...(details ? { details } : {}) } },
});

describe('source references, linked answers and verification against a real HTTP server', () => {
  let server: http.Server;
  let client: ModelManagerClient;
  const requests: Array<{ method: string; url: string; body: unknown }> = [];
  /** What the server answers next, per `METHOD path` (without the query). */
  let replies: Map<string, Reply[]>;

  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      requests.push({ method: req.method!, url: req.url!, body: text ? JSON.parse(text) : undefined });
      const key = `${req.method} ${new URL(req.url!, 'http://x').pathname}`;
      const reply = replies.get(key)?.shift() ?? error(404, 'NOT_FOUND', undefined);
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new ModelManagerClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  beforeEach(() => {
    requests.length = 0;
    replies = new Map();
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends a source with no name, and a linked answer is done at once, however long the wait', async () => {
    replies.set('POST /v1/fetch', [{ status: 200, body: { status: 'linked', model, verified: true } }]);
    const answer = await client.fetch({ kind: 'lora', source: 'civitai:135867' }, { waitSeconds: 1200 });
    expect(answer).toEqual({ status: 'linked', model, verified: true });
    expect(requests).toEqual([
      { method: 'POST', url: `/v1/fetch?wait=${MAX_HOLD_SECONDS}`, body: { kind: 'lora', source: 'civitai:135867' } },
    ]);
  });

  it('keeps verified and unverifiedReason when the wait goes on on the job', async () => {
    const unverified = { verified: false, unverifiedReason: 'Civitai publishes no SHA-256 for this file' };
    replies.set('POST /v1/fetch', [{ status: 202, body: { status: 'queued', jobId: '7', ...unverified } }]);
    replies.set('GET /v1/jobs/7', [
      {
        status: 200,
        body: {
          jobId: '7',
          kind: 'lora',
          name: 'detail',
          status: 'completed',
          progress: { bytes: 300, totalBytes: 300 },
          attempts: 1,
          model,
          ...unverified,
        },
      },
    ]);
    const answer = await client.fetch(
      { kind: 'lora', source: 'hf:org/repo/detail.safetensors@main' },
      { waitSeconds: 600 },
    );
    expect(answer).toEqual({ status: 'completed', jobId: '7', model, ...unverified });
    expect(requests.map((r) => r.url)).toEqual([`/v1/fetch?wait=${MAX_HOLD_SECONDS}`, '/v1/jobs/7?wait=290']);
  });

  it('throws the refusals of a reference as their own classes, under the families callers already catch', async () => {
    const cases: Array<[Reply, new (...args: never[]) => Error, (new (...args: never[]) => Error) | null]> = [
      [error(404, 'SOURCE_NOT_FOUND'), SourceNotFoundError, NotFoundError],
      [error(409, 'HASH_CONFLICT', { given: 'b'.repeat(64), host: 'a'.repeat(64) }), HashConflictError, ConflictError],
      [error(422, 'AUTH_REQUIRED'), AuthRequiredError, null],
      [error(422, 'UNVERIFIED'), UnverifiedError, null],
    ];
    for (const [reply, cls, family] of cases) {
      replies.set('POST /v1/fetch', [reply]);
      const err = await client.fetch({ kind: 'checkpoint', source: 'civitai:1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      if (family) expect(err).toBeInstanceOf(family);
      // Not the caller's malformed request: the CLI and handlers tell these apart.
      expect(err).not.toBeInstanceOf(InvalidRequestError);
      expect(err).toMatchObject({ name: cls.name, code: (reply.body as { error: { code: string } }).error.code });
    }
    const conflict = errorFromAnswer(409, error(409, 'HASH_CONFLICT', { given: 'b', host: 'a' }).body, '');
    expect(conflict.details).toEqual({ given: 'b', host: 'a' });
    // Other 422s are still bad requests; a code named like an Object property is just a code.
    expect(errorFromAnswer(422, error(422, 'SOMETHING').body, '')).toBeInstanceOf(InvalidRequestError);
    expect(errorFromAnswer(500, error(500, 'constructor').body, '').name).toBe('ModelManagerError');
  });

  it('passes batch items with sources through, and reads linked items and counts', async () => {
    const created = {
      batchId: 'b',
      jobs: [
        { kind: 'lora', name: 'detail', status: 'linked', verified: true },
        { kind: 'lora', name: 'civitai:999', status: 'failed', error: { code: 'SOURCE_NOT_FOUND', message: 'no' } },
      ],
    };
    const view: BatchView = {
      batchId: 'b',
      done: true,
      counts: { total: 2, cached: 0, linked: 1, queued: 0, active: 0, completed: 0, failed: 1 },
      jobs: [{ ...created.jobs[0]!, status: 'linked', kind: 'lora', path: model.path }, created.jobs[1] as never],
    };
    replies.set('POST /v1/batches', [{ status: 202, body: created }]);
    replies.set('GET /v1/batches/b', [{ status: 200, body: view }]);
    const items = [
      { kind: 'lora' as const, source: 'civitai:135867' },
      { kind: 'lora' as const, name: 'x', source: 'civitai:999' },
    ];
    expect(await client.prefetch(items)).toEqual(created);
    expect(requests[0]!.body).toEqual({ items });
    expect((await client.batch('b')).counts.linked).toBe(1);
  });
});
