import { Router, type Request, type Response } from 'express';
import { MAINTENANCE_JOB_ID, type ModelKind } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { notFound } from '../http/api-error.js';
import { SseStream } from '../http/sse.js';
import { JOB_ID_PATTERN } from './jobs.js';
import type { JobView } from '../services/fetch-service.js';
import { JobFollower, type FollowHandlers } from '../services/job-follower.js';

const isFinal = (status: string) => status === 'completed' || status === 'failed';

/**
 * Server-Sent Events: GET /v1/jobs/:id/events and GET /v1/batches/:id/events. `state` first,
 * then `progress`, `completed` / `failed` per job (at once for a job already finished), (batches)
 * `done`; then the stream ends.
 */
export function eventRoutes(ctx: ServiceContext): Router {
  const router = Router();

  /** Opens the stream and follows `jobs` until each has finished; `handlers.end` ends it. */
  function follow(
    req: Request,
    res: Response,
    jobs: Map<string, { kind: ModelKind; name: string }>,
    handlers: (stream: SseStream) => FollowHandlers,
    first: ReadonlyArray<{ event: string; data: unknown }>,
  ) {
    const stream = new SseStream(res);
    for (const { event, data } of first) stream.send(event, data);
    const follower = new JobFollower(ctx, jobs, handlers(stream), (err) => {
      req.log.warn({ err: (err as Error)?.message }, 'event stream stopped: could not read the jobs');
      stream.end();
    });
    stream.onClose(() => follower.stop());
    follower.start();
  }

  /**
   * A maintenance job (verify, scan, cleanup): `state`, then `completed` or `failed` once it has
   * finished. Its progress counts models, not bytes, so it is not sent as `progress` events (which
   * clients read as download progress); GET /v1/jobs/:id shows it.
   */
  async function followMaintenance(req: Request, res: Response, id: string): Promise<void> {
    const view = await ctx.maintenanceJobs.view(id);
    if (!view) throw notFound(`job ${id}`);
    const stream = new SseStream(res);
    stream.send('state', view);
    const gone = new AbortController();
    stream.onClose(() => gone.abort());
    try {
      // No time limit: the stream ends when the job does, the client goes, or the API shuts down
      // (then the client reconnects and gets `state` again).
      const final =
        isFinal(view.status) || (await ctx.maintenanceWaiter.waitFor([id], Number.POSITIVE_INFINITY, gone.signal))
          ? await ctx.maintenanceJobs.view(id)
          : null;
      if (final && isFinal(final.status)) stream.send(final.status, final);
    } catch (err) {
      req.log.warn({ err: (err as Error)?.message }, 'event stream stopped: could not read the job');
    }
    stream.end();
  }

  router.get('/v1/jobs/:id/events', async (req, res) => {
    const id = req.params.id;
    if (MAINTENANCE_JOB_ID.test(id)) return followMaintenance(req, res, id);
    if (!JOB_ID_PATTERN.test(id)) throw notFound(`job ${JSON.stringify(id)}`);
    const view = await ctx.fetches.view(id);
    if (!view) throw notFound(`job ${id}`);
    if (isFinal(view.status)) {
      const stream = new SseStream(res);
      stream.send('state', view);
      stream.send(view.status, view);
      stream.end();
      return;
    }
    follow(
      req,
      res,
      new Map([[id, { kind: view.kind, name: view.name }]]),
      (stream) => ({
        progress: (p) => stream.send('progress', p),
        finished: (final) => stream.send(final.status, final),
        end: () => stream.end(),
      }),
      [{ event: 'state', data: view }],
    );
  });

  router.get('/v1/batches/:id/events', async (req, res) => {
    const batchId = req.params.id;
    const found = await ctx.batches.viewWithJobs(batchId);
    if (!found) throw notFound(`batch ${JSON.stringify(batchId)}`);
    const { view } = found;
    const jobs = new Map<string, { kind: ModelKind; name: string }>();
    for (const item of view.jobs) {
      if (item.jobId && !isFinal(item.status) && item.status !== 'cached')
        jobs.set(item.jobId, { kind: item.kind, name: item.name });
    }
    // Jobs that finished before the stream opened are said to have finished, as a job's own stream
    // does: a client then hears of every job once, however fast it was.
    const first = [{ event: 'state', data: view }, ...found.finished.map((job) => ({ event: job.status, data: job }))];
    if (jobs.size === 0) {
      const stream = new SseStream(res);
      for (const { event, data } of first) stream.send(event, data);
      stream.send('done', view);
      stream.end();
      return;
    }
    follow(
      req,
      res,
      jobs,
      (stream) => ({
        progress: (p) => stream.send('progress', { ...p, ...jobs.get(p.jobId) }),
        finished: (final: JobView) => stream.send(final.status, final),
        end: async (shutdown) => {
          if (!shutdown) {
            const done = await ctx.batches.view(batchId);
            if (done) stream.send('done', done);
          }
          stream.end();
        },
      }),
      first,
    );
  });
  return router;
}
