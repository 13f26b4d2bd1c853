import { Router } from 'express';
import type { ServiceContext } from '../context.js';
import { MetricsService } from '../services/metrics.js';

/** GET /metrics: Prometheus text format. */
export function metricsRoutes(ctx: ServiceContext): Router {
  const router = Router();
  const metrics = new MetricsService({
    prefix: ctx.config.QUEUE_PREFIX,
    modelsDir: ctx.config.modelsDir,
    redis: ctx.redis,
    registry: ctx.registry,
    queues: [ctx.queue, ctx.maintenanceQueue],
    flushLookups: async () => {
      await Promise.all([ctx.fetches.flushCounts(), ctx.sources.flushCounts()]);
    },
  });
  router.get('/metrics', async (_req, res) => {
    const body = await metrics.render();
    res.type(metrics.contentType).send(body);
  });
  return router;
}
