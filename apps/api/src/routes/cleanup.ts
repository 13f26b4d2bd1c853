import { Router } from 'express';
import { cleanupRequestSchema, nowSeconds, recordEviction } from '@model-manager/core';
import { planCleanup } from '@model-manager/registry';
import type { ServiceContext } from '../context.js';
import { parseBody } from '../http/validate.js';

/** POST /v1/cleanup: the old module's age rule, keeping the most used models. */
export function cleanupRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/cleanup', async (req, res) => {
    const options = parseBody(cleanupRequestSchema, req.body ?? {});
    const removed = await ctx.registry.removeWhere(
      (data) => planCleanup(data, { ...options, nowSeconds: nowSeconds() }),
      { dryRun: options.dryRun },
    );
    const freedBytes = removed.reduce((n, m) => n + m.fileSize, 0);
    if (!options.dryRun) await recordEviction(ctx.redis, ctx.config.QUEUE_PREFIX, 'age', removed.length).catch(() => {});
    req.log.info({ dryRun: options.dryRun, removed, freedBytes }, 'cleanup');
    res.json({ removed, freedBytes, dryRun: options.dryRun });
  });
  return router;
}
