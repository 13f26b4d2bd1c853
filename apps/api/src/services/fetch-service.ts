import { randomBytes } from 'node:crypto';
import { Job, type Queue } from 'bullmq';
import {
  FETCH_MODEL_JOB,
  QUEUE_NAME,
  CACHE_LOOKUP_FIELDS,
  PendingCounters,
  bullKeys,
  fetchJobData,
  fetchJobOptions,
  modelKey,
  parseFailedReason,
  recordDownload,
  sameContentTmpPath,
  splitUrlToken,
  urlTokenKey,
  type Config,
  type ErrorInfo,
  type FetchModelJobData,
  type Model,
  type ModelKind,
  type ModelRef,
  type RedisClient,
} from '@model-manager/core';
import { publishSameContent, type Registry } from '@model-manager/registry';
import type { Resolution } from '@model-manager/sources';
import { ApiError } from '../http/api-error.js';

/** How long a URL's token is kept for the worker: longer than any job lives in the queue. */
const URL_TOKEN_TTL_SECONDS = 8 * 24 * 3600;

export type PublicStatus = 'queued' | 'active' | 'completed' | 'failed';

/** Whether the file is (or was) checked against a SHA-256 known before its download, and why not. */
export interface Verification {
  verified: boolean;
  unverifiedReason?: string;
}

export type FetchOutcome = { kind: ModelKind; name: string } & (
  | { status: 'cached'; model: Model }
  /** The same bytes were on the volume under another name: placed under this one, nothing downloaded. */
  | { status: 'linked'; model: Model }
  | { status: PublicStatus; jobId: string }
) &
  Verification;

export function verificationOf(known: { sha256?: string; unverifiedReason?: string }): Verification {
  if (known.sha256) return { verified: true };
  return { verified: false, unverifiedReason: known.unverifiedReason ?? 'no sha256 given' };
}

export interface JobView {
  jobId: string;
  kind: ModelKind;
  name: string;
  status: PublicStatus;
  progress: { bytes: number; totalBytes: number | null };
  attempts: number;
  model?: Model;
  error?: ErrorInfo;
  /** Why the previous attempt failed, while the job is retried. */
  lastError?: ErrorInfo;
  /** Whether the download is checked against a SHA-256 known before it (absent for a job no longer found). */
  verified?: boolean;
  unverifiedReason?: string;
}

export function publicStatus(state: string): PublicStatus {
  if (state === 'completed' || state === 'failed' || state === 'active') return state;
  return 'queued'; // waiting, prioritized, delayed (backing off before a retry), waiting-children
}

/** Refuses a request for a model whose in-flight job fetches something else under the same name. */
export class ConflictError extends ApiError {
  constructor(ref: ModelRef, existing: FetchModelJobData, jobId: string) {
    const what = existing.url !== ref.url ? 'url' : 'sha256';
    super(
      409,
      'CONFLICT',
      `${ref.kind} "${ref.name}" is being fetched (job ${jobId}) with a different ${what}; wait for it to finish or use another name`,
      { jobId, field: what },
    );
  }
}

/** What splitUrlTokens returns for a ref without a token: nothing to keep. */
const noTokens = async (): Promise<void> => {};

/** The producer side: cache checks, one job per model, job views. */
export class FetchService {
  /** Cache lookups counted in memory: a Redis round trip per hit would cost the hot path dearly. */
  private readonly counts: PendingCounters;

  constructor(
    private readonly config: Config,
    private readonly queue: Queue,
    private readonly registry: Registry,
    private readonly redis: RedisClient,
  ) {
    this.counts = new PendingCounters(redis, config.QUEUE_PREFIX);
  }

  jobOptions(ref: ModelRef, priority: number) {
    return fetchJobOptions(this.config, ref, priority);
  }

  jobData(ref: ModelRef, known: Omit<Resolution, 'ref' | 'verified'> = {}): FetchModelJobData {
    return fetchJobData(ref, known);
  }

  /**
   * Counts cache lookups: a hit updates the model's usage (batched to the registry) and the
   * hit counter, a miss the miss counter. Counters are best effort: a Redis hiccup loses a count, not a request.
   */
  countLookups(lookups: ReadonlyArray<{ ref: ModelRef; hit: boolean }>): void {
    for (const { ref, hit } of lookups) {
      this.counts.add(hit ? CACHE_LOOKUP_FIELDS.hit : CACHE_LOOKUP_FIELDS.miss);
      if (hit) this.registry.recordHit(ref.kind, ref.name);
    }
  }

  /** Adds the counted lookups to the shared counters in Redis (every second, and at close). */
  flushCounts(): Promise<void> {
    return this.counts.flush();
  }

  close(): Promise<void> {
    return this.counts.close();
  }

  /**
   * The ref without `?token=` (so no token reaches a job, the registry, logs or answers), and a
   * function that keeps the tokens under their own Redis key, read only by the worker that
   * makes the request. Call it only for a request that will download.
   */
  splitUrlTokens(ref: ModelRef): { ref: ModelRef; storeTokens: () => Promise<void> } {
    // URLs without a query cannot carry a token: no URL parsing for them on the hot path.
    if (!ref.url.includes('?') && !ref.mirrors?.some((u) => u.includes('?'))) return { ref, storeTokens: noTokens };
    const split = [ref.url, ...(ref.mirrors ?? [])].map((url) => splitUrlToken(url));
    const withTokens = split.filter((s) => s.token !== undefined);
    if (withTokens.length === 0) return { ref, storeTokens: noTokens };
    const [main, ...mirrors] = split.map((s) => s.url);
    return {
      ref: { ...ref, url: main!, ...(ref.mirrors ? { mirrors } : {}) },
      storeTokens: async () => {
        const multi = this.redis.multi();
        for (const { url, token } of withTokens)
          multi.set(urlTokenKey(this.config.QUEUE_PREFIX, url), token!, 'EX', URL_TOKEN_TTL_SECONDS);
        await multi.exec();
      },
    };
  }

  /**
   * Cached answer, the same bytes linked under the new name, or the job (new or joined) that
   * fetches the model. Throws ConflictError.
   */
  async request(resolution: Resolution, options: { priority: number }): Promise<FetchOutcome> {
    const { ref, storeTokens } = this.splitUrlTokens(resolution.ref);
    const verification = verificationOf({ sha256: ref.sha256, unverifiedReason: resolution.unverifiedReason });
    const cached = await this.registry.check(ref.kind, ref.name, ref.sha256);
    this.countLookups([{ ref, hit: cached.hit }]);
    const named = { kind: ref.kind, name: ref.name };
    if (cached.hit) return { status: 'cached', ...named, model: cached.model, ...verification };
    const linked = await this.linkSameContent(ref, resolution);
    if (linked) return { status: 'linked', ...named, model: linked, ...verification };
    // Only a request that will download keeps its token (before the job exists, for its worker).
    await storeTokens();
    const data = this.jobData(ref, resolution);
    const added = await this.queue.add(FETCH_MODEL_JOB, data, this.jobOptions(ref, options.priority));
    const jobId = added.id!;
    const status = await this.joinCheck(ref, data, jobId, options.priority);
    return { status, ...named, jobId, ...verification };
  }

  /**
   * A SHA-256 known before the download that is on the volume already, under any name or kind:
   * the new name gets the same bytes at once (a hard link, else a copy), with no job at all.
   */
  async linkSameContent(ref: ModelRef, known: Pick<Resolution, 'source'>): Promise<Model | null> {
    if (!ref.sha256) return null;
    const tmp = sameContentTmpPath(this.config.modelsDir, this.config.QUEUE_PREFIX, randomBytes(6).toString('hex'));
    const linked = await publishSameContent(
      this.registry,
      { ...ref, ...(known.source ? { source: known.source } : {}) },
      tmp,
    );
    if (!linked) return null;
    await recordDownload(this.redis, this.config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'linked' });
    return linked.model;
  }

  /**
   * After an add that may have joined an existing job (BullMQ deduplication returns the
   * in-flight job's id): refuse a different url/sha256, raise the priority of a waiting
   * prefetch job a handler now awaits, and say where the job stands.
   */
  async joinCheck(ref: ModelRef, data: FetchModelJobData, jobId: string, priority: number): Promise<PublicStatus> {
    const job = await Job.fromId<FetchModelJobData>(this.queue, jobId);
    if (!job) return 'queued';
    if (job.data.requestId === data.requestId) return 'queued'; // ours, just added
    // Joining is fine when the running job makes the file this request wants: the same URL, and
    // the requested hash if one was given (a request without one takes whatever that URL serves).
    if (job.data.url !== ref.url || (ref.sha256 !== undefined && job.data.sha256 !== ref.sha256)) {
      throw new ConflictError(ref, job.data, jobId);
    }
    const state = await job.getState();
    // Waiting, or backing off before a retry: move it ahead of the prefetch batch.
    if (
      (state === 'prioritized' || state === 'waiting' || state === 'delayed') &&
      (job.opts.priority ?? 0) > priority
    ) {
      await job.changePriority({ priority }).catch(() => {}); // it may have just started: harmless
    }
    return publicStatus(state);
  }

  /**
   * joinCheck for many jobs at once (a batch): one pipelined read tells which jobs this request
   * just created; only the jobs it joined are looked at one by one.
   */
  async joinCheckMany(
    entries: ReadonlyArray<{ ref: ModelRef; data: FetchModelJobData; jobId: string }>,
    priority: number,
  ): Promise<Array<PublicStatus | ConflictError>> {
    const pipeline = this.redis.pipeline();
    const jobKey = bullKeys(this.config.QUEUE_PREFIX, QUEUE_NAME).job;
    for (const { jobId } of entries) pipeline.hget(jobKey(jobId), 'data');
    const stored = (await pipeline.exec()) ?? [];
    return Promise.all(
      entries.map(async ({ ref, data, jobId }, i) => {
        const raw = stored[i]?.[1];
        try {
          if (typeof raw === 'string' && (JSON.parse(raw) as FetchModelJobData).requestId === data.requestId)
            return 'queued';
        } catch {
          /* unreadable: the careful path below decides */
        }
        try {
          return await this.joinCheck(ref, data, jobId, priority);
        } catch (err) {
          if (err instanceof ConflictError) return err;
          throw err;
        }
      }),
    );
  }

  async view(jobId: string): Promise<JobView | null> {
    // State first: a job read before it failed and its state read after would show "failed"
    // without its failedReason (INTERNAL "unknown failure"); read this way round, a job that
    // has a final state has its result or reason written too (one Lua script moves both).
    const state = await this.queue.getJobState(jobId);
    const job = await Job.fromId<FetchModelJobData, Model>(this.queue, jobId);
    if (!job) return null;
    return this.viewOf(job, state);
  }

  viewOf(job: Job<FetchModelJobData, Model>, state: string): JobView {
    const status = publicStatus(state);
    const progress = (typeof job.progress === 'object' && job.progress) || {};
    const p = progress as { bytes?: number; totalBytes?: number | null };
    const view: JobView = {
      jobId: job.id!,
      kind: job.data.kind,
      name: job.data.name,
      status,
      progress: { bytes: p.bytes ?? 0, totalBytes: p.totalBytes ?? null },
      attempts: job.attemptsStarted ?? job.attemptsMade,
      ...verificationOf(job.data),
    };
    if (status === 'completed' && job.returnvalue) view.model = job.returnvalue;
    if (status === 'failed') view.error = parseFailedReason(job.failedReason);
    else if (job.failedReason) view.lastError = parseFailedReason(job.failedReason);
    return view;
  }

  /** The id of the job fetching this model now, if any. */
  async inFlightJob(kind: ModelKind, name: string): Promise<string | null> {
    const jobId = await this.queue.getDeduplicationJobId(modelKey(kind, name));
    if (!jobId) return null;
    const state = await this.queue.getJobState(jobId);
    return state === 'completed' || state === 'failed' || state === 'unknown' ? null : jobId;
  }
}
