import { Router } from 'express';
import { MAINTENANCE_JOB_ID } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { notFound } from '../http/api-error.js';
import { clientGone } from '../http/request-context.js';
import { parseWait } from '../http/validate.js';

/** BullMQ job ids as this API hands them out; anything else is not a job (404 without a Redis read). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** GET /v1/jobs/:id?wait= : where one fetch or maintenance job stands. */
export function jobRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.get('/v1/jobs/:id', async (req, res) => {
    const wait = parseWait(req.query, 0);
    const id = req.params.id;
    if (MAINTENANCE_JOB_ID.test(id)) {
      if (wait > 0) await ctx.maintenanceWaiter.waitFor([id], wait * 1000, clientGone(req, res));
      const view = await ctx.maintenanceJobs.view(id);
      if (!view) throw notFound(`job ${id}`);
      res.json(view);
      return;
    }
    if (!JOB_ID_PATTERN.test(id)) throw notFound(`job ${JSON.stringify(id)}`);
    if (wait > 0) await ctx.waiter.waitFor([id], wait * 1000, clientGone(req, res));
    const view = await ctx.fetches.view(id);
    if (!view) throw notFound(`job ${id}`);
    res.json(view);
  });
  return router;
}
