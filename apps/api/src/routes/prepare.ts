import { Router } from 'express';
import {
  PRIORITY,
  prepareRequestSchema,
  type ErrorInfo,
  type Model,
  type ModelKind,
  type ModelRef,
} from '@model-manager/core';
import type { ServiceContext } from '../context.js';
import { ApiError } from '../http/api-error.js';
import { clientGone } from '../http/request-context.js';
import { assertSourcesAllowed, parseBody, parseWait } from '../http/validate.js';
import { buildLoraPrompt } from '../services/prompt.js';

type Outcome = { model: Model; fetched?: boolean } | { jobId: string } | { error: ErrorInfo };

/**
 * POST /v1/prepare?wait= (default 600): everything one generation needs, fetched in parallel.
 * One model failing does not fail the others; what failed or did not finish is listed in `failed`,
 * what was not on the volume before this request in `downloaded`.
 * The answer carries a lease (LEASE_SECONDS) over the models, released by DELETE /v1/leases/:id.
 */
export function prepareRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.post('/v1/prepare', async (req, res) => {
    const wait = parseWait(req.query, 600);
    const body = parseBody(prepareRequestSchema, req.body);
    const refs: ModelRef[] = [
      ...(body.checkpoint ? [body.checkpoint] : []),
      ...(body.loras ?? []),
      ...(body.embeddings ?? []),
    ];
    assertSourcesAllowed(
      [
        ...(body.checkpoint ? [{ ref: body.checkpoint, field: 'checkpoint' }] : []),
        ...(body.loras ?? []).map((ref, i) => ({ ref, field: `loras.${i}` })),
        ...(body.embeddings ?? []).map((ref, i) => ({ ref, field: `embeddings.${i}` })),
      ],
      ctx.config,
    );
    // Every model asked for is leased before it is looked up, so a cleanup cannot remove a file
    // between the lookup and the generation that uses it.
    const lease = await ctx.leases.create(refs);

    const started: Outcome[] = await Promise.all(
      refs.map(async (ref): Promise<Outcome> => {
        try {
          const outcome = await ctx.fetches.request(ref, { priority: PRIORITY.awaited });
          return outcome.status === 'cached' ? { model: outcome.model } : { jobId: outcome.jobId };
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
      const path = pathOf(i++);
      return path ? [{ name: lora.name, path, scale: lora.scale }] : [];
    });
    const embeddings = (body.embeddings ?? []).flatMap((embedding) => {
      const path = pathOf(i++);
      return path ? [{ name: embedding.name, path }] : [];
    });
    // New files in the WebUI's folders (downloaded or linked to the same content): a handler
    // refreshes the WebUI's model list when this is not empty.
    const downloaded = outcomes.flatMap((o, n) =>
      'fetched' in o && o.fetched ? [{ kind: refs[n]!.kind, name: refs[n]!.name }] : [],
    );
    // LEASE_SECONDS from the answer, not from the request: the wait may have been long.
    const held = (await ctx.leases.extend(lease.leaseId)) ?? lease;
    res.json({
      checkpointPath,
      loras,
      embeddings,
      prompt: buildLoraPrompt(body.prompt, loras),
      failed,
      downloaded,
      leaseId: held.leaseId,
      leaseExpiresAt: held.expiresAt,
    });
  });
  return router;
}
