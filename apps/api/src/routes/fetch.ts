import { Router } from 'express';
import { PRIORITY, modelRefSchema } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { clientGone } from '../http/request-context.js';
import { assertSourcesAllowed, parseBody, parseWait } from '../http/validate.js';

/** POST /v1/fetch?wait= : one model, cached or fetched, optionally awaited. */
export function fetchRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/fetch', async (req, res) => {
    const wait = parseWait(req.query, 0);
    const ref = parseBody(modelRefSchema, req.body);
    assertSourcesAllowed([{ ref, field: '' }], ctx.config);
    const outcome = await ctx.fetches.request(ref, { priority: wait > 0 ? PRIORITY.awaited : PRIORITY.single });
    if (outcome.status === 'cached') {
      res.json(outcome);
      return;
    }
    const { jobId } = outcome;
    if (wait > 0) await ctx.waiter.waitFor([jobId], wait * 1000, clientGone(req, res));
    const view = await ctx.fetches.view(jobId);
    if (view?.status === 'completed') res.json({ status: 'completed', jobId, model: view.model });
    else if (view?.status === 'failed') res.status(502).json({ status: 'failed', jobId, error: view.error });
    else res.status(202).json({ status: view?.status ?? outcome.status, jobId });
  });
  return router;
}
