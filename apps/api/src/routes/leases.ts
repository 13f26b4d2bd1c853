import { Router } from 'express';
import { leaseExtendSchema } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { ApiError } from '../http/api-error.js';
import { parseBody } from '../http/validate.js';

const leaseNotFound = (id: string) =>
  new ApiError(404, 'LEASE_NOT_FOUND', `lease ${id} not found (unknown, released or expired)`);

/** POST /v1/leases/:id extends a lease on models in use; DELETE releases it. */
export function leaseRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/leases/:id', async (req, res) => {
    const { seconds } = parseBody(leaseExtendSchema, req.body ?? {});
    const lease = await ctx.leases.extend(req.params.id, seconds);
    if (!lease) throw leaseNotFound(req.params.id);
    res.json({ leaseId: lease.leaseId, expiresAt: lease.expiresAt, models: lease.models });
  });
  router.delete('/v1/leases/:id', async (req, res) => {
    if (!(await ctx.leases.release(req.params.id))) throw leaseNotFound(req.params.id);
    res.status(204).end();
  });
  return router;
}
