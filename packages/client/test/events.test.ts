import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JobFailedError,
  ModelManagerClient,
  readEventStream,
  type JobProgress,
  type JobView,
  type ServerSentEvent,
} from '../src/index.js';

/*
 * A tiny real HTTP server speaking the issue-5 contract's events routes (the API in this branch
 * has none yet): `state`, `progress`..., then `completed`/`failed` (jobs) or `done` (batches).
 * Events are written in awkward pieces (a CRLF split in two, a line cut mid-field) to exercise
 * the parser's buffering.
 */

const model = {
  kind: 'lora',
  name: 'detail',
  path: '/m/loras/detail.safetensors',
  url: 'http://o/x',
  sha256: 'a'.repeat(64),
  fileSize: 300,
  downloadedAt: 't',
  lastUsed: 't',
  usageCount: 0,
};
const jobView = (jobId: string, status: JobView['status'], bytes: number, extra: Partial<JobView> = {}): JobView => ({
  jobId,
  kind: 'lora',
  name: `file-${jobId}`,
  status,
  progress: { bytes, totalBytes: 300 },
  attempts: 1,
  ...extra,
});
const sse = (event: string, data: unknown) => `event: ${event}\r\ndata: ${JSON.stringify(data)}\r\n\r\n`;

/** The contract's sequence for one job, as text. */
function jobStream(jobId: string, fail: boolean): string {
  const progress = (bytes: number) => ({ jobId, bytes, totalBytes: 300, bytesPerSec: 1000 });
  return [
    ': keep-alive\r\n\r\n',
    sse('state', jobView(jobId, 'active', 0)),
    sse('progress', progress(100)),
    sse('progress', progress(200)),
    fail
      ? sse(
          'failed',
          jobView(jobId, 'failed', 200, { error: { code: 'HASH_MISMATCH', message: 'sha256 is b…, expected a…' } }),
        )
      : sse('completed', jobView(jobId, 'completed', 300, { model: model as JobView['model'] })),
  ].join('');
}

/** Writes `text` in pieces of 7 bytes with a pause between them, so every boundary falls somewhere odd. */
function writeSlowly(res: http.ServerResponse, text: string, end = true): void {
  const bytes = Buffer.from(text);
  let offset = 0;
  const next = () => {
    if (res.destroyed) return;
    if (offset >= bytes.length) return void (end && res.end());
    res.write(bytes.subarray(offset, offset + 7));
    offset += 7;
    setTimeout(next, 1);
  };
  next();
}

describe('Server-Sent Events: the parser and waitFor() against a real HTTP server', () => {
  const seen: http.IncomingHttpHeaders[] = [];
  let server: http.Server;
  let baseUrl = '';
  const polls = new Map<string, number>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      const url = new URL(req.url ?? '/', 'http://x');
      const streamHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
      let match: RegExpExecArray | null;
      if (url.pathname === '/raw') {
        res.writeHead(200, streamHeaders);
        // BOM, LF and CR line ends, a multi-line data field, an unnamed event, an event cut off by the end.
        return writeSlowly(
          res,
          '\uFEFFevent: state\ndata: {"a":1}\n\n: comment\rdata: line one\rdata: line two\r\rid: 9\ndata\n\nevent: progress\r\ndata: {"cut":',
        );
      }
      if ((match = /^\/v1\/jobs\/([^/]+)\/events$/.exec(url.pathname))) {
        const jobId = match[1]!;
        if (jobId.startsWith('old')) {
          res.writeHead(404, { 'content-type': 'application/json' });
          return void res.end(
            JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route for GET ${url.pathname}` } }),
          );
        }
        if (jobId === 'missing') {
          res.writeHead(404, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'job missing not found' } }));
        }
        res.writeHead(200, streamHeaders);
        if (jobId.startsWith('cut')) {
          // The connection dies after the first progress event (an API restart).
          res.write(jobStream(jobId, false).split('event: progress')[0]!);
          return void setTimeout(() => res.destroy(), 20);
        }
        return writeSlowly(res, jobStream(jobId, jobId.startsWith('bad')));
      }
      if ((match = /^\/v1\/jobs\/([^/]+)$/.exec(url.pathname))) {
        // The polling fallback: two answers "active", then "completed".
        const jobId = match[1]!;
        const n = (polls.get(jobId) ?? 0) + (jobId.startsWith('cut') ? 3 : 1);
        polls.set(jobId, n);
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify(
            n < 3
              ? jobView(jobId, 'active', n * 100)
              : jobView(jobId, 'completed', 300, { model: model as JobView['model'] }),
          ),
        );
      }
      if (url.pathname === '/v1/batches/b1/events') {
        const item = (jobId: string, status: string) => ({ kind: 'lora', name: `file-${jobId}`, status, jobId });
        const view = (done: boolean) => ({
          batchId: 'b1',
          done,
          counts: { total: 3, cached: 1, queued: 0, active: done ? 0 : 2, completed: done ? 3 : 1, failed: 0 },
          jobs: [
            { kind: 'embedding', name: 'neg', status: 'cached', path: '/m/embeddings/neg.pt' },
            item('1', done ? 'completed' : 'active'),
            item('2', done ? 'completed' : 'active'),
          ],
        });
        res.writeHead(200, streamHeaders);
        return writeSlowly(
          res,
          [
            sse('state', view(false)),
            sse('progress', {
              jobId: '1',
              kind: 'lora',
              name: 'file-1',
              bytes: 150,
              totalBytes: 300,
              bytesPerSec: 500,
            }),
            sse('progress', { jobId: '2', kind: 'lora', name: 'file-2', bytes: 50, totalBytes: 300, bytesPerSec: 500 }),
            sse('completed', jobView('1', 'completed', 300)),
            sse('completed', jobView('2', 'completed', 300)),
            sse('done', view(true)),
          ].join(''),
        );
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${url.pathname}` } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('parses line ends of every kind, comments, multi-line data and drops an event cut off by the end', async () => {
    const res = await fetch(`${baseUrl}/raw`);
    const events: ServerSentEvent[] = [];
    for await (const event of readEventStream(res.body!)) events.push(event);
    expect(events).toEqual([
      { event: 'state', data: '{"a":1}' },
      { event: 'message', data: 'line one\nline two' },
      { event: 'message', data: '', id: '9' },
    ]);
  });

  it('waitFor() follows a job through state, progress and completed, with the bearer token sent', async () => {
    const client = new ModelManagerClient({ baseUrl, token: 'sekret-token' });
    const progress: JobProgress[] = [];
    const job = await client.waitFor('7', { onProgress: (p) => progress.push(p), timeoutMs: 30_000 });
    expect(job).toMatchObject({ jobId: '7', status: 'completed', model: { path: model.path } });
    expect(progress).toEqual([
      { jobId: '7', kind: 'lora', name: 'file-7', bytes: 100, totalBytes: 300, bytesPerSec: 1000 },
      { jobId: '7', kind: 'lora', name: 'file-7', bytes: 200, totalBytes: 300, bytesPerSec: 1000 },
    ]);
    expect(seen.at(-1)).toMatchObject({ authorization: 'Bearer sekret-token', accept: 'text/event-stream' });
    // The token never shows when the client is printed or serialised.
    expect(inspect(client, { depth: 5 })).not.toContain('sekret');
    expect(JSON.stringify(client)).not.toContain('sekret');
  });

  it('waitFor() throws a JobFailedError with the job error code for one failed job, and lists it among several', async () => {
    const client = new ModelManagerClient({ baseUrl });
    const error = await client.waitFor('bad1').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ name: 'JobFailedError', code: 'HASH_MISMATCH', jobId: 'bad1' });

    const jobs = await client.waitFor(['8', 'bad2']);
    expect(jobs.map((j) => [j.jobId, j.status])).toEqual([
      ['8', 'completed'],
      ['bad2', 'failed'],
    ]);
  });

  it('waitFor() rejects a 404 for the job itself, and polls when the server has no events route', async () => {
    const client = new ModelManagerClient({ baseUrl });
    await expect(client.waitFor('missing')).rejects.toMatchObject({
      name: 'NotFoundError',
      code: 'NOT_FOUND',
      status: 404,
      unknownRoute: false,
    });

    const progress: JobProgress[] = [];
    const job = await client.waitFor('old1', { onProgress: (p) => progress.push(p) });
    expect(job.status).toBe('completed');
    expect(polls.get('old1')).toBe(3);
    expect(progress.map((p) => p.bytes)).toEqual([100, 200]);
  });

  it('waitFor() asks where the job stands when its stream is cut before the final event', async () => {
    const client = new ModelManagerClient({ baseUrl });
    const job = await client.waitFor('cut1');
    expect(job).toMatchObject({ jobId: 'cut1', status: 'completed' });
  });

  it('waitForBatch() reports each job and ends with the done event', async () => {
    const client = new ModelManagerClient({ baseUrl });
    const progress: JobProgress[] = [];
    const settled: string[] = [];
    const view = await client.waitForBatch('b1', {
      onProgress: (p) => progress.push(p),
      onJobSettled: (j) => settled.push(j.jobId),
    });
    expect(view).toMatchObject({ batchId: 'b1', done: true, counts: { completed: 3, failed: 0 } });
    expect(progress.map((p) => `${p.name}:${p.bytes}`)).toEqual(['file-1:150', 'file-2:50']);
    expect(settled).toEqual(['1', '2']);
  });
});
