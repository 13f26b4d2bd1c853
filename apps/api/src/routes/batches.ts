import { Router } from 'express';
import { batchRequestSchema } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { notFound } from '../http/api-error.js';
import { clientGone } from '../http/request-context.js';
import { assertSourcesAllowed, parseBody, parseWait } from '../http/validate.js';
import { resolveEach } from '../sources/resolve-requests.js';

/** Prefetch batches: POST /v1/batches, GET /v1/batches/:id?wait= */
export function batchRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/batches', async (req, res) => {
    const { items } = parseBody(batchRequestSchema, req.body);
    assertSourcesAllowed(
      items.map((ref, i) => ({ ref, field: `items.${i}` })),
      ctx.config,
    );
    const resolved = await resolveEach(
      ctx.sources,
      items.map((request, i) => ({ request, field: `items.${i}` })),
    );
    res.status(202).json(await ctx.batches.create(items.map((request, i) => ({ request, resolved: resolved[i]! }))));
  });
  router.get('/v1/batches/:id', async (req, res) => {
    const wait = parseWait(req.query, 0);
    const jobIds = await ctx.batches.jobIds(req.params.id);
    if (!jobIds) throw notFound(`batch ${JSON.stringify(req.params.id)}`);
    if (wait > 0) await ctx.waiter.waitFor(jobIds, wait * 1000, clientGone(req, res));
    const view = await ctx.batches.view(req.params.id);
    if (!view) throw notFound(`batch ${req.params.id}`);
    res.json(view);
  });
  return router;
}
