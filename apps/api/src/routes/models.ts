import { Router } from 'express';
import { modelKindSchema, modelNameSchema } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { ApiError, notFound } from '../http/api-error.js';
import { parseParam } from '../http/validate.js';

/** The registry: list, show, delete, pin and unpin models. */
export function modelRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.get('/v1/models', async (req, res) => {
    const kind = req.query.kind === undefined ? undefined : parseParam(modelKindSchema, req.query.kind, 'kind');
    res.json({ models: await ctx.registry.list(kind) });
  });
  router.get('/v1/models/:kind/:name', async (req, res) => {
    const kind = parseParam(modelKindSchema, req.params.kind, 'kind');
    const name = parseParam(modelNameSchema, req.params.name, 'name');
    const model = await ctx.registry.model(kind, name);
    if (!model) throw notFound(`${kind} ${JSON.stringify(name)}`);
    res.json(model);
  });
  router.delete('/v1/models/:kind/:name', async (req, res) => {
    const kind = parseParam(modelKindSchema, req.params.kind, 'kind');
    const name = parseParam(modelNameSchema, req.params.name, 'name');
    const jobId = await ctx.fetches.inFlightJob(kind, name);
    if (jobId)
      throw new ApiError(
        409,
        'FETCH_IN_PROGRESS',
        `${kind} "${name}" is being fetched by job ${jobId}; delete it after that finishes`,
        { jobId },
      );
    const removed = await ctx.registry.removeWhere(() => [{ kind, name }]);
    if (removed.length === 0) throw notFound(`${kind} ${JSON.stringify(name)}`);
    req.log.info({ kind, name, fileSize: removed[0]!.fileSize }, 'model deleted');
    res.status(204).end();
  });
  // Pinned models are never removed by cleanup or quota eviction (an explicit DELETE still removes them).
  for (const [method, pinned] of [
    ['post', true],
    ['delete', false],
  ] as const) {
    router[method]('/v1/models/:kind/:name/pin', async (req, res) => {
      const kind = parseParam(modelKindSchema, req.params.kind, 'kind');
      const name = parseParam(modelNameSchema, req.params.name, 'name');
      const model = await ctx.registry.setPinned(kind, name, pinned);
      if (!model) throw notFound(`${kind} ${JSON.stringify(name)}`);
      req.log.info({ kind, name, pinned }, pinned ? 'model pinned' : 'model unpinned');
      res.json(model);
    });
  }
  return router;
}
