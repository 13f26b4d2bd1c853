import { Router } from 'express';
import { scanRequestSchema, verifyRequestSchema } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { notFound } from '../http/api-error.js';
import { parseBody } from '../http/validate.js';

/** POST /v1/verify and POST /v1/scan: queue a maintenance job, answer 202 with its id. */
export function verifyScanRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/verify', async (req, res) => {
    const body = parseBody(verifyRequestSchema, req.body ?? {});
    // One model asked for by name: a typo is a 404 now, not an empty report later.
    if (body.kind && body.name && !(await ctx.registry.get(body.kind, body.name)))
      throw notFound(`${body.kind} "${body.name}"`);
    const jobId = await ctx.maintenanceJobs.add('verify', body);
    req.log.info({ jobId, ...body }, 'verify queued');
    res.status(202).json({ jobId });
  });
  router.post('/v1/scan', async (req, res) => {
    const body = parseBody(scanRequestSchema, req.body ?? {});
    const jobId = await ctx.maintenanceJobs.add('scan', body);
    req.log.info({ jobId }, 'scan queued');
    res.status(202).json({ jobId });
  });
  return router;
}
