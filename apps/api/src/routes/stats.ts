import { statfs } from 'node:fs/promises';
import { Router } from 'express';
import { serviceKeys } from '@model-manager/core';
import { summarize } from '@model-manager/registry';
import type { ServiceContext } from '../context.js';

/** GET /v1/stats: what is cached, the volume's disk usage, hit rate and download counters. */
export function statsRoutes(ctx: ServiceContext): Router {
  const router = Router();
  const statsKey = serviceKeys(ctx.config.QUEUE_PREFIX).stats;
  router.get('/v1/stats', async (_req, res) => {
    await ctx.fetches.flushCounts(); // this process's counts, up to the moment
    const [data, fs, counters] = await Promise.all([
      ctx.registry.read(),
      statfs(ctx.config.modelsDir),
      ctx.redis.hgetall(statsKey),
    ]);
    const n = (key: string) => Number(counters[key] ?? 0);
    const hits = n('cache_hits');
    const misses = n('cache_misses');
    res.json({
      ...summarize(data),
      diskUsage: {
        total: fs.blocks * fs.bsize,
        used: (fs.blocks - fs.bfree) * fs.bsize,
        free: fs.bavail * fs.bsize,
      },
      cache: { hits, misses, hitRate: hits + misses > 0 ? hits / (hits + misses) : 0 },
      downloads: { succeeded: n('downloads_succeeded'), failed: n('downloads_failed'), bytes: n('downloads_bytes') },
    });
  });
  return router;
}
