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
  type RedisClient,
} from '@model-manager/core';
import type { Registry } from '@model-manager/registry';
import { ApiError } from '../http/api-error.js';
import { ConflictError, publicStatus, type FetchService, type PublicStatus } from './fetch-service.js';

/** Batches are kept this long after creation. */
const BATCH_TTL_SECONDS = 7 * 24 * 3600;

export type BatchItemStatus = PublicStatus | 'cached';

export interface BatchItem {
  kind: ModelKind;
  name: string;
  status: BatchItemStatus;
  jobId?: string;
  path?: string;
  error?: ErrorInfo;
}

interface StoredBatch {
  createdAt: number;
  items: Array<{ kind: ModelKind; name: string; jobId?: string; cachedPath?: string; error?: ErrorInfo }>;
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

  async create(given: ModelRef[]): Promise<{ batchId: string; jobs: BatchItem[] }> {
    // `?token=` comes off every URL now; a token is kept only for an item that will download.
    const split = given.map((ref) => this.fetches.splitUrlTokens(ref));
    const items = split.map((s) => s.ref);
    // The same model twice in one batch is one job; twice with different sources is a mistake.
    const first = new Map<string, { ref: ModelRef; index: number }>();
    items.forEach((ref, index) => {
      const key = modelKey(ref.kind, ref.name);
      const seen = first.get(key);
      if (!seen) first.set(key, { ref, index });
      else if (seen.ref.url !== ref.url || (seen.ref.sha256 ?? null) !== (ref.sha256 ?? null)) {
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          `items.${index} names the same ${ref.kind} "${ref.name}" as items.${seen.index} with a different url or sha256`,
          [{ field: `items.${index}`, message: `conflicts with items.${seen.index}` }],
        );
      }
    });

    const unique = [...first.values()].map((v) => v.ref);
    const checks = await Promise.all(unique.map((ref) => this.registry.check(ref.kind, ref.name, ref.sha256)));
    this.fetches.countLookups(unique.map((ref, i) => ({ ref, hit: checks[i]!.hit })));
    const results = new Map<string, BatchItem>();
    const toAdd: Array<{ ref: ModelRef; data: FetchModelJobData }> = [];
    unique.forEach((ref, i) => {
      const check = checks[i]!;
      if (check.hit)
        results.set(modelKey(ref.kind, ref.name), {
          kind: ref.kind,
          name: ref.name,
          status: 'cached',
          path: check.model.path,
        });
      else toAdd.push({ ref, data: this.fetches.jobData(ref) });
    });

    if (toAdd.length > 0) {
      const downloads = new Set(toAdd.map(({ ref }) => modelKey(ref.kind, ref.name)));
      await Promise.all(
        split.filter((s) => downloads.has(modelKey(s.ref.kind, s.ref.name))).map((s) => s.storeTokens()),
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
      toAdd.forEach(({ ref }, i) => {
        const status = statuses[i]!;
        const key = modelKey(ref.kind, ref.name);
        if (status instanceof ConflictError) {
          results.set(key, {
            kind: ref.kind,
            name: ref.name,
            status: 'failed',
            error: { code: status.code, message: status.message },
          });
        } else results.set(key, { kind: ref.kind, name: ref.name, status, jobId: jobs[i]!.id! });
      });
    }

    const batchItems = items.map((ref) => results.get(modelKey(ref.kind, ref.name))!);
    const batchId = randomUUID();
    const stored: StoredBatch = {
      createdAt: Date.now(),
      items: batchItems.map((item) => ({
        kind: item.kind,
        name: item.name,
        ...(item.jobId ? { jobId: item.jobId } : {}),
        ...(item.path ? { cachedPath: item.path } : {}),
        ...(item.error ? { error: item.error } : {}),
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
    const jobs: BatchItem[] = await Promise.all(
      stored.items.map(async (item): Promise<BatchItem> => {
        const base = { kind: item.kind, name: item.name };
        if (!item.jobId) {
          return item.error
            ? { ...base, status: 'failed', error: item.error }
            : { ...base, status: 'cached', ...(item.cachedPath ? { path: item.cachedPath } : {}) };
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
        return {
          ...base,
          status: publicStatus(found.state),
          jobId: item.jobId,
          ...(view.model ? { path: view.model.path } : {}),
          ...(view.error ? { error: view.error } : {}),
        };
      }),
    );
    const counts = { total: jobs.length, cached: 0, queued: 0, active: 0, completed: 0, failed: 0 };
    for (const job of jobs) counts[job.status] += 1;
    return { batchId, done: counts.queued + counts.active === 0, counts, jobs };
  }

  private async load(batchId: string): Promise<StoredBatch | null> {
    if (!/^[0-9a-f-]{36}$/.test(batchId)) return null;
    const raw = await this.redis.get(this.keys.batch(batchId));
    return raw ? (JSON.parse(raw) as StoredBatch) : null;
  }
}
