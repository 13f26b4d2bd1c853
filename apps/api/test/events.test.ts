import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceContext } from '@model-manager/api';
import { startInProcessApi, type InProcessApi } from '../../../test/support/in-process-api.js';
import { call } from '../../../test/support/service.js';
import { readSse } from '../../../test/support/sse.js';

/** No worker runs here: jobs stay queued, so the streams stay open until the test ends them. */
describe('event streams let go of everything', () => {
  let api: InProcessApi;
  let ctx: ServiceContext;
  let server: Server;
  let base: string;
  let jobId: string;
  let batchId: string;

  /** Opens a stream and resolves once its `state` event arrived, with the promise of its end. */
  const open = (route: string, signal?: AbortSignal) =>
    new Promise<{ ended: ReturnType<typeof readSse> }>((resolve, reject) => {
      const ended = readSse(`${base}${route}`, { signal, onEvent: (e) => e.event === 'state' && resolve({ ended }) });
      ended.then(() => reject(new Error(`${route} ended before its state event`)), reject);
    });

  beforeAll(async () => {
    api = await startInProcessApi('sse');
    ctx = api.ctx;
    server = api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    jobId = (
      await call(base, 'POST', '/v1/fetch', {
        kind: 'lora',
        name: 'waiting',
        url: 'https://example.invalid/w.safetensors',
      })
    ).body.jobId;
    batchId = (
      await call(base, 'POST', '/v1/batches', {
        items: [{ kind: 'embedding', name: 'queued', url: 'https://example.invalid/q.pt' }],
      })
    ).body.batchId;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await api?.close();
  });

  it("removes a stream's listeners when its client goes away", async () => {
    expect(ctx.events.listenerCount()).toBe(0);
    const jobClient = new AbortController();
    const batchClient = new AbortController();
    const streams = await Promise.all([
      open(`/v1/jobs/${jobId}/events`, jobClient.signal),
      open(`/v1/batches/${batchId}/events`, batchClient.signal),
    ]);
    expect(ctx.events.listenerCount()).toBeGreaterThanOrEqual(2);
    jobClient.abort();
    batchClient.abort();
    await Promise.all(streams.map((s) => s.ended));
    await expect.poll(() => ctx.events.listenerCount(), { timeout: 10_000 }).toBe(0);
  });

  it('notices a job that ended without an event it listens for (re-reads the jobs), here one removed', async () => {
    const queued = await call(base, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'removed',
      url: 'https://example.invalid/r.safetensors',
    });
    const stream = await open(`/v1/jobs/${queued.body.jobId}/events`);
    await ctx.queue.remove(queued.body.jobId); // BullMQ says `removed`, never `completed` or `failed`
    const { events } = await stream.ended;
    expect(events.map((e) => e.event)).toEqual(['state', 'failed']);
    expect(events[1]!.data).toMatchObject({
      jobId: queued.body.jobId,
      kind: 'checkpoint',
      name: 'removed',
      status: 'failed',
      error: { code: 'NOT_FOUND' },
    });
  });

  it('ends every open stream when the API closes', async () => {
    const streams = await Promise.all([
      open(`/v1/jobs/${jobId}/events`),
      open(`/v1/jobs/${jobId}/events`),
      open(`/v1/batches/${batchId}/events`),
    ]);
    ctx.events.close(); // what SIGTERM does first
    const ended = await Promise.all(streams.map((s) => s.ended));
    for (const stream of ended) expect(stream.events.map((e) => e.event)).toEqual(['state']);
    expect(ctx.events.listenerCount()).toBe(0);
  });
});
