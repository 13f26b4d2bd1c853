import { Router } from 'express';
import { PRIORITY, fetchRequestSchema } from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { clientGone } from '../http/request-context.js';
import { assertSourcesAllowed, parseBody, parseWait } from '../http/validate.js';
import { resolveOne } from '../sources/resolve-requests.js';

/** POST /v1/fetch?wait= : one model, cached or fetched, optionally awaited. */
export function fetchRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/fetch', async (req, res) => {
    const wait = parseWait(req.query, 0);
    const { lease: wantLease, ...request } = parseBody(fetchRequestSchema, req.body);
    assertSourcesAllowed([{ ref: request, field: '' }], ctx.config);
    const resolution = await resolveOne(ctx.sources, request);
    const { ref } = resolution;
    // Leased before the cache lookup, so no cleanup can remove the file between the two.
    const lease = wantLease ? await ctx.leases.create([ref]) : undefined;
    let leased = lease ? { leaseId: lease.leaseId, leaseExpiresAt: lease.expiresAt } : {};
    const outcome = await ctx.fetches
      .request(resolution, { priority: wait > 0 ? PRIORITY.awaited : PRIORITY.single })
      .catch(async (err: unknown) => {
        if (lease) await ctx.leases.release(lease.leaseId).catch(() => {}); // refused (409): nothing to hold
        throw err;
      });
    if (outcome.status === 'cached' || outcome.status === 'linked') {
      res.json({ ...outcome, ...leased });
      return;
    }
    const { jobId, kind, name, verified, unverifiedReason } = outcome;
    // The name too: a request by reference may not have given one.
    const verification = { kind, name, verified, ...(unverifiedReason ? { unverifiedReason } : {}) };
    if (wait > 0) await ctx.waiter.waitFor([jobId], wait * 1000, clientGone(req, res));
    const view = await ctx.fetches.view(jobId);
    if (lease && wait > 0) {
      // LEASE_SECONDS from the answer, not from the request.
      const held = await ctx.leases.extend(lease.leaseId);
      if (held) leased = { leaseId: held.leaseId, leaseExpiresAt: held.expiresAt };
    }
    if (view?.status === 'completed')
      res.json({ status: 'completed', jobId, model: view.model, ...verification, ...leased });
    else if (view?.status === 'failed')
      res.status(502).json({ status: 'failed', jobId, error: view.error, ...verification, ...leased });
    else res.status(202).json({ status: view?.status ?? outcome.status, jobId, ...verification, ...leased });
  });
  return router;
}
