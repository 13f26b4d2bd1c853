import { Router } from 'express';
import {
  PRIORITY,
  prepareRequestSchema,
  type ErrorInfo,
  type Model,
  type ModelKind,
  type ModelRef,
} from '@model-manager/core';
import type { Resolution } from '@model-manager/sources';
import type { ServiceContext } from '../context.js';
import { ApiError } from '../http/api-error.js';
import { clientGone } from '../http/request-context.js';
import { assertSourcesAllowed, parseBody, parseWait } from '../http/validate.js';
import { buildLoraPrompt } from '../services/prompt.js';
import { nameAsked, resolveEach } from '../sources/resolve-requests.js';

type Outcome = { model: Model; fetched?: boolean } | { jobId: string } | { error: ErrorInfo };

/**
 * POST /v1/prepare?wait= (default 600): everything one generation needs, fetched in parallel.
 * One model failing does not fail the others; what failed or did not finish is listed in `failed`,
 * what was not on the volume before this request in `downloaded`, and the models whose bytes were
 * not checked against a SHA-256 known beforehand in `unverified`.
 * The answer carries a lease (LEASE_SECONDS) over the models, released by DELETE /v1/leases/:id.
 */
export function prepareRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/prepare', async (req, res) => {
    const wait = parseWait(req.query, 600);
    const body = parseBody(prepareRequestSchema, req.body);
    const asked = [
      ...(body.checkpoint ? [{ request: body.checkpoint, field: 'checkpoint' }] : []),
      ...(body.loras ?? []).map((request, i) => ({ request, field: `loras.${i}` })),
      ...(body.embeddings ?? []).map((request, i) => ({ request, field: `embeddings.${i}` })),
    ];
    assertSourcesAllowed(
      asked.map(({ request, field }) => ({ ref: request, field })),
      ctx.config,
    );
    const resolved = await resolveEach(ctx.sources, asked);
    // A model the host refused (not found, a token needed) is reported in `failed` under the name asked for.
    const refs: ModelRef[] = resolved.map((r, i) =>
      'ref' in r ? r.ref : { kind: asked[i]!.request.kind, name: nameAsked(asked[i]!.request), url: '' },
    );
    // Every model asked for is leased before it is looked up, so a cleanup cannot remove a file
    // between the lookup and the generation that uses it.
    const lease = await ctx.leases.create(refs.filter((_, i) => 'ref' in resolved[i]!));

    const started: Outcome[] = await Promise.all(
      resolved.map(async (resolution): Promise<Outcome> => {
        if (!('ref' in resolution)) return { error: { code: resolution.code, message: resolution.message } };
        try {
          const outcome = await ctx.fetches.request(resolution as Resolution, { priority: PRIORITY.awaited });
          if (outcome.status === 'cached') return { model: outcome.model };
          if (outcome.status === 'linked') return { model: outcome.model, fetched: true };
          return { jobId: outcome.jobId };
        } catch (err) {
          if (err instanceof ApiError && err.status === 409) return { error: { code: err.code, message: err.message } };
          throw err;
        }
      }),
    );
    const jobIds = started.flatMap((o) => ('jobId' in o ? [o.jobId] : []));
    await ctx.waiter.waitFor(jobIds, wait * 1000, clientGone(req, res));

    const outcomes: Outcome[] = await Promise.all(
      started.map(async (o): Promise<Outcome> => {
        if (!('jobId' in o)) return o;
        const view = await ctx.fetches.view(o.jobId);
        if (view?.status === 'completed' && view.model) return { model: view.model, fetched: true };
        if (view?.status === 'failed' && view.error) return { error: view.error };
        return { error: { code: 'WAIT_TIMEOUT', message: `not finished within ${wait} s; job ${o.jobId} goes on` } };
      }),
    );

    const failed: Array<{ kind: ModelKind; name: string; error: ErrorInfo }> = [];
    const pathOf = (i: number): string | null => {
      const o = outcomes[i]!;
      if ('model' in o) return o.model.path;
      if ('error' in o) failed.push({ kind: refs[i]!.kind, name: refs[i]!.name, error: o.error });
      return null;
    };
    let i = 0;
    const checkpointPath = body.checkpoint ? pathOf(i++) : null;
    const loras = (body.loras ?? []).flatMap((lora) => {
      const name = refs[i]!.name;
      const path = pathOf(i++);
      return path ? [{ name, path, scale: lora.scale }] : [];
    });
    const embeddings = (body.embeddings ?? []).flatMap(() => {
      const name = refs[i]!.name;
      const path = pathOf(i++);
      return path ? [{ name, path }] : [];
    });
    // New files in the WebUI's folders (downloaded or linked to the same content): a handler
    // refreshes the WebUI's model list when this is not empty.
    const downloaded = outcomes.flatMap((o, n) =>
      'fetched' in o && o.fetched ? [{ kind: refs[n]!.kind, name: refs[n]!.name }] : [],
    );
    // Models given to the generation whose bytes were not checked against a SHA-256 known beforehand.
    const unverified = outcomes.flatMap((o, n) => {
      const r = resolved[n]!;
      return 'model' in o && 'ref' in r && !r.verified
        ? [{ kind: refs[n]!.kind, name: refs[n]!.name, reason: r.unverifiedReason ?? 'no sha256 given' }]
        : [];
    });
    // LEASE_SECONDS from the answer, not from the request: the wait may have been long.
    const held = (await ctx.leases.extend(lease.leaseId)) ?? lease;
    res.json({
      checkpointPath,
      loras,
      embeddings,
      prompt: buildLoraPrompt(body.prompt, loras),
      failed,
      downloaded,
      unverified,
      leaseId: held.leaseId,
      leaseExpiresAt: held.expiresAt,
    });
  });
  return router;
}
