import { randomUUID } from 'node:crypto';
import { Job, type Queue } from 'bullmq';
import {
  FETCH_MODEL_JOB,
  PRIORITY,
  modelKey,
  serviceKeys,
  type Config,
  type ErrorInfo,
  type FetchModelJobData,
  type Model,
  type ModelKind,
  type ModelRef,
  type ModelRequest,
  type RedisClient,
} from '@model-manager/core';
import type { Registry } from '@model-manager/registry';
import type { Resolution } from '@model-manager/sources';
import { ApiError } from '../http/api-error.js';
import { nameAsked } from '../sources/resolve-requests.js';
import {
  ConflictError,
  publicStatus,
  verificationOf,
  type FetchService,
  type JobView,
  type PublicStatus,
  type Verification,
} from './fetch-service.js';

/** Batches are kept this long after creation. */
const BATCH_TTL_SECONDS = 7 * 24 * 3600;

export type BatchItemStatus = PublicStatus | 'cached' | 'linked';

export interface BatchItem extends Partial<Verification> {
  kind: ModelKind;
  name: string;
  status: BatchItemStatus;
  jobId?: string;
  path?: string;
  error?: ErrorInfo;
}

interface StoredBatch {
  createdAt: number;
  items: Array<
    {
      kind: ModelKind;
      name: string;
      jobId?: string;
      cachedPath?: string;
      linked?: boolean;
      error?: ErrorInfo;
    } & Partial<Verification>
  >;
}

/** One item of a batch request, resolved, or refused on its own (not found, a token needed, a conflict). */
export interface BatchEntry {
  request: ModelRequest;
  resolved: Resolution | ApiError;
}

export interface BatchView {
  batchId: string;
  done: boolean;
  counts: Record<'total' | BatchItemStatus, number>;
  jobs: BatchItem[];
}

/** Prefetch batches: many models enqueued at once with one bulk add, tracked under one id. */
export class BatchStore {
  private readonly keys;

  constructor(
    config: Config,
    private readonly redis: RedisClient,
    private readonly queue: Queue,
    private readonly registry: Registry,
    private readonly fetches: FetchService,
  ) {
    this.keys = serviceKeys(config.QUEUE_PREFIX);
  }

  async create(entries: readonly BatchEntry[]): Promise<{ batchId: string; jobs: BatchItem[] }> {
    const refused = new Map<number, BatchItem>();
    const resolved = new Map<number, Resolution>();
    entries.forEach(({ request, resolved: r }, index) => {
      if (r instanceof ApiError) {
        refused.set(index, {
          kind: request.kind,
          name: nameAsked(request),
          status: 'failed',
          error: { code: r.code, message: r.message },
        });
      } else resolved.set(index, r);
    });
    // `?token=` comes off every URL now; a token is kept only for an item that will download.
    const split = new Map([...resolved].map(([index, r]) => [index, this.fetches.splitUrlTokens(r.ref)]));
    // The same model twice in one batch is one job; twice with different sources is a mistake.
    const first = new Map<string, { ref: ModelRef; index: number; resolution: Resolution }>();
    for (const [index, { ref }] of split) {
      const key = modelKey(ref.kind, ref.name);
      const seen = first.get(key);
      if (!seen) first.set(key, { ref, index, resolution: resolved.get(index)! });
      else if (seen.ref.url !== ref.url || (seen.ref.sha256 ?? null) !== (ref.sha256 ?? null)) {
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          `items.${index} names the same ${ref.kind} "${ref.name}" as items.${seen.index} with a different url or sha256`,
          [{ field: `items.${index}`, message: `conflicts with items.${seen.index}` }],
        );
      }
    }

    const unique = [...first.values()];
    const checks = await Promise.all(unique.map(({ ref }) => this.registry.check(ref.kind, ref.name, ref.sha256)));
    this.fetches.countLookups(unique.map(({ ref }, i) => ({ ref, hit: checks[i]!.hit })));
    const results = new Map<string, BatchItem>();
    const toAdd: Array<{ ref: ModelRef; data: FetchModelJobData }> = [];
    const verification = (ref: ModelRef, resolution: Resolution) =>
      verificationOf({ sha256: ref.sha256, unverifiedReason: resolution.unverifiedReason });
    // Only an item with a known SHA-256 can be linked; the others go straight to the queue.
    const linked = await Promise.all(
      unique.map(({ ref, resolution }, i) =>
        checks[i]!.hit || !ref.sha256 ? null : this.fetches.linkSameContent(ref, resolution),
      ),
    );
    unique.forEach(({ ref, resolution }, i) => {
      const check = checks[i]!;
      const base = { kind: ref.kind, name: ref.name, ...verification(ref, resolution) };
      const twin = linked[i];
      if (check.hit) results.set(modelKey(ref.kind, ref.name), { ...base, status: 'cached', path: check.model.path });
      else if (twin) results.set(modelKey(ref.kind, ref.name), { ...base, status: 'linked', path: twin.path });
      else toAdd.push({ ref, data: this.fetches.jobData(ref, resolution) });
    });

    if (toAdd.length > 0) {
      const downloads = new Set(toAdd.map(({ ref }) => modelKey(ref.kind, ref.name)));
      await Promise.all(
        [...split.values()].filter((s) => downloads.has(modelKey(s.ref.kind, s.ref.name))).map((s) => s.storeTokens()),
      );
      const jobs = await this.queue.addBulk(
        toAdd.map(({ ref, data }) => ({
          name: FETCH_MODEL_JOB,
          data,
          opts: this.fetches.jobOptions(ref, PRIORITY.batch),
        })),
      );
      const statuses = await this.fetches.joinCheckMany(
        toAdd.map(({ ref, data }, i) => ({ ref, data, jobId: jobs[i]!.id! })),
        PRIORITY.batch,
      );
      toAdd.forEach(({ ref, data }, i) => {
        const status = statuses[i]!;
        const key = modelKey(ref.kind, ref.name);
        const base = { kind: ref.kind, name: ref.name, ...verificationOf(data) };
        if (status instanceof ConflictError) {
          results.set(key, { ...base, status: 'failed', error: { code: status.code, message: status.message } });
        } else results.set(key, { ...base, status, jobId: jobs[i]!.id! });
      });
    }

    const batchItems = entries.map((_, index) => {
      const ref = split.get(index)?.ref;
      return ref ? results.get(modelKey(ref.kind, ref.name))! : refused.get(index)!;
    });
    const batchId = randomUUID();
    const stored: StoredBatch = {
      createdAt: Date.now(),
      items: batchItems.map((item) => ({
        kind: item.kind,
        name: item.name,
        ...(item.jobId ? { jobId: item.jobId } : {}),
        ...(item.path ? { cachedPath: item.path } : {}),
        ...(item.status === 'linked' ? { linked: true } : {}),
        ...(item.error ? { error: item.error } : {}),
        ...(item.verified === undefined ? {} : { verified: item.verified }),
        ...(item.unverifiedReason ? { unverifiedReason: item.unverifiedReason } : {}),
      })),
    };
    await this.redis.set(this.keys.batch(batchId), JSON.stringify(stored), 'EX', BATCH_TTL_SECONDS);
    return { batchId, jobs: batchItems.map(({ path: _path, ...rest }) => rest) };
  }

  async jobIds(batchId: string): Promise<string[] | null> {
    const stored = await this.load(batchId);
    return stored ? [...new Set(stored.items.flatMap((i) => (i.jobId ? [i.jobId] : [])))] : null;
  }

  async view(batchId: string): Promise<BatchView | null> {
    return (await this.viewWithJobs(batchId))?.view ?? null;
  }

  /** The batch, and the views of its jobs that have finished (which its event stream reports first). */
  async viewWithJobs(batchId: string): Promise<{ view: BatchView; finished: JobView[] } | null> {
    const stored = await this.load(batchId);
    if (!stored) return null;
    const jobIds = [...new Set(stored.items.flatMap((i) => (i.jobId ? [i.jobId] : [])))];
    const views = new Map(
      await Promise.all(
        jobIds.map(async (id) => {
          // State before the job, as in FetchService.view: never "failed" without its reason.
          const state = await this.queue.getJobState(id);
          const job = await Job.fromId<FetchModelJobData, Model>(this.queue, id);
          return [id, job ? { job, state } : null] as const;
        }),
      ),
    );
    const finished = new Map<string, JobView>();
    const jobs: BatchItem[] = await Promise.all(
      stored.items.map(async (item): Promise<BatchItem> => {
        const base = {
          kind: item.kind,
          name: item.name,
          ...(item.verified === undefined ? {} : { verified: item.verified }),
          ...(item.unverifiedReason ? { unverifiedReason: item.unverifiedReason } : {}),
        };
        if (!item.jobId) {
          return item.error
            ? { ...base, status: 'failed', error: item.error }
            : {
                ...base,
                status: item.linked ? 'linked' : 'cached',
                ...(item.cachedPath ? { path: item.cachedPath } : {}),
              };
        }
        const found = views.get(item.jobId);
        if (!found) {
          // The job record expired; the registry still says whether it landed.
          const check = await this.registry.check(item.kind, item.name);
          return check.hit
            ? { ...base, status: 'completed', jobId: item.jobId, path: check.model.path }
            : {
                ...base,
                status: 'failed',
                jobId: item.jobId,
                error: { code: 'JOB_EXPIRED', message: 'the job record has expired' },
              };
        }
        const view = this.fetches.viewOf(found.job, found.state);
        if (view.status === 'completed' || view.status === 'failed') finished.set(view.jobId, view);
        return {
          ...base,
          status: publicStatus(found.state),
          jobId: item.jobId,
          ...(view.model ? { path: view.model.path } : {}),
          ...(view.error ? { error: view.error } : {}),
        };
      }),
    );
    const counts = { total: jobs.length, cached: 0, linked: 0, queued: 0, active: 0, completed: 0, failed: 0 };
    for (const job of jobs) counts[job.status] += 1;
    return {
      view: { batchId, done: counts.queued + counts.active === 0, counts, jobs },
      finished: [...finished.values()],
    };
  }

  private async load(batchId: string): Promise<StoredBatch | null> {
    if (!/^[0-9a-f-]{36}$/.test(batchId)) return null;
    const raw = await this.redis.get(this.keys.batch(batchId));
    return raw ? (JSON.parse(raw) as StoredBatch) : null;
  }
}
