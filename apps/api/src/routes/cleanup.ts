import { Router } from 'express';
import { cleanupRequestSchema } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { parseBody } from '../http/validate.js';

/**
 * POST /v1/cleanup: the old module's age rule (keeping the most used models), and with
 * `quota: true` quota eviction as well. Pinned, leased and in-flight models are never removed.
 */
export function cleanupRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/cleanup', async (req, res) => {
    const { maxAgeDays, keepPopular, dryRun, quota } = parseBody(cleanupRequestSchema, req.body ?? {});
    const report = await ctx.cleanup.run({ age: { maxAgeDays, keepPopular }, quota, dryRun, trigger: 'api' });
    res.json(report);
  });
  return router;
}
