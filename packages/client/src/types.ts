import type { z } from 'zod';
import type {
  batchRequestSchema,
  cleanupRequestSchema,
  ErrorInfo,
  Model as CoreModel,
  ModelKind,
  modelRefSchema,
  prepareRequestSchema,
  verifyRequestSchema,
} from '@model-manager/core';

export type { ErrorInfo, ModelKind };

/* ---------- requests: the input side of the API's own zod schemas ---------- */

/** What a caller sends: `sha256` in either case, `url` in any form the API normalises. */
export type ModelRefInput = z.input<typeof modelRefSchema>;
/** `kind` may be left out inside `checkpoint`, `loras` and `embeddings`; a LoRA's `scale` defaults to 1. */
export type PrepareRequest = z.input<typeof prepareRequestSchema>;
export type BatchRequest = z.input<typeof batchRequestSchema>;
/** `quota` is new with issue 5 (quota eviction); an API without it refuses the field, so it is only sent when given. */
export type CleanupRequest = z.input<typeof cleanupRequestSchema>;

/* ---------- answers (the API builds these without a schema in core) ---------- */

/** A model on the volume. `pinned` is absent on an API from before pinning. */
export type Model = Omit<CoreModel, 'pinned'> & { pinned?: boolean };

export type JobStatus = 'queued' | 'active' | 'completed' | 'failed';

/** Fetch jobs count bytes; maintenance jobs (verify, scan) count the models checked so far. */
export type JobProgressView =
  | { bytes: number; totalBytes: number | null; checked?: undefined; total?: undefined }
  | { checked?: number; total?: number; bytes?: undefined; totalBytes?: undefined };

/**
 * GET /v1/jobs/:id. Fetch jobs carry `model` when completed; maintenance jobs carry `job` (their
 * name), `result` when completed, and `kind`/`name` only when a verify was limited to them.
 */
export interface JobView {
  jobId: string;
  /** Always set on fetch jobs; on a maintenance job only when a verify was limited to a kind. */
  kind?: ModelKind;
  /** Always set on fetch jobs; on a maintenance job only when a verify was limited to one model. */
  name?: string;
  /** Set on maintenance jobs only. */
  job?: 'cleanup' | 'verify' | 'scan';
  status: JobStatus;
  progress: JobProgressView;
  attempts: number;
  model?: Model;
  error?: ErrorInfo;
  lastError?: ErrorInfo;
  result?: unknown;
}

export interface LeaseFields {
  leaseId?: string;
  leaseExpiresAt?: string;
}

/** POST /v1/fetch: a failed job is thrown as a JobFailedError, so it is not one of these. */
export type FetchResult =
  | ({ status: 'cached'; model: Model } & LeaseFields)
  | ({ status: 'completed'; jobId: string; model: Model } & LeaseFields)
  | ({ status: 'queued' | 'active'; jobId: string } & LeaseFields);

export type BatchItemStatus = JobStatus | 'cached';

/** One item of a batch: a job's model and outcome (no job when it was cached or refused at once). */
export type BatchItem = { kind: ModelKind; name: string } & Partial<Pick<JobView, 'jobId' | 'error'>> & { status: BatchItemStatus; path?: string };

export interface BatchCreated {
  batchId: string;
  jobs: BatchItem[];
}

export interface BatchView {
  batchId: string;
  done: boolean;
  counts: Record<'total' | BatchItemStatus, number>;
  jobs: BatchItem[];
}

export interface PrepareResult extends LeaseFields {
  checkpointPath: string | null;
  loras: Array<{ name: string; path: string; scale: number }>;
  embeddings: Array<{ name: string; path: string }>;
  prompt: string;
  failed: Array<{ kind: ModelKind; name: string; error: ErrorInfo }>;
  /** Models that were not on the volume when the request came (downloaded, or linked to the same content). */
  downloaded: Array<{ kind: ModelKind; name: string }>;
}

export interface Stats {
  checkpoints: { count: number; totalSize: number };
  loras: { count: number; totalSize: number };
  embeddings: { count: number; totalSize: number };
  diskUsage: { total: number; used: number; free: number };
  cache: { hits: number; misses: number; hitRate: number };
  downloads: { succeeded: number; failed: number; bytes: number };
}

export type EvictionReason = 'age' | 'max-bytes' | 'min-free';

/** Before issue 5 the removed entries are `{kind, name, fileSize}`; after it, whole models with a `reason`. */
export interface CleanupResult {
  removed: Array<Pick<Model, 'kind' | 'name' | 'fileSize'> & Partial<Model> & { reason?: EvictionReason }>;
  freedBytes: number;
  dryRun: boolean;
  /** Models quota eviction had to keep while over a limit, and why (absent before issue 5). */
  skipped?: Array<{ kind: ModelKind; name: string; reason: KeepReason }>;
  /** With `quota`: whether both limits hold afterwards. */
  fits?: boolean;
}

/** Why quota eviction kept a model it would otherwise have removed. */
export type KeepReason = 'pinned' | 'leased' | 'in-flight' | 'grace';

export type VerifyRequest = z.input<typeof verifyRequestSchema>;

/** The return values of `verify` and `scan` maintenance jobs (JobView.result): the worker's own types. */
export type { ScanResult, VerifyResult } from '@model-manager/core';

export interface LeaseView {
  leaseId: string;
  expiresAt: string;
  models: Array<{ kind: ModelKind; name: string }>;
}

/** One `progress` event (or, without the events stream, one poll), per job. */
export interface JobProgress {
  jobId: string;
  kind?: ModelKind;
  name?: string;
  bytes: number;
  totalBytes: number | null;
  /** Null until a speed can be told (the first poll). */
  bytesPerSec: number | null;
}
