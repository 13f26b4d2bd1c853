// The API's request and answer shapes, written out so the client installs on its own: no zod,
// no @model-manager/core (and so no BullMQ, ioredis or pino) in a handler that uses it.
// packages/client/test/types.test.ts holds them equal to the API's own zod schemas and types.

export type ModelKind = 'checkpoint' | 'lora' | 'embedding';

/** An error as the API reports it, in answers and on failed jobs. */
export interface ErrorInfo {
  code: string;
  message: string;
  status?: number;
}

/* ---------- requests: what the API's schemas accept ---------- */

interface ModelRefFields {
  kind: ModelKind;
  /**
   * Any text that is safe as one file name (1-200 bytes in UTF-8; no "/", "\\" or control characters; not
   * starting with "."). Defaults to the file's name without its extension, as the host tells it.
   */
  name?: string | undefined;
  /** 64 hexadecimal characters, either case. */
  sha256?: string | undefined;
  /** Further URLs for the same file, tried in order when a source fails (at most 10). */
  mirrors?: string[] | undefined;
}

/** Where the file is: a download URL or a reference the service resolves, never both. */
export type UrlOrSource =
  | {
      /** An absolute http:// or https:// URL. */
      url: string;
      source?: undefined;
    }
  | {
      /** `hf:OWNER/REPO/PATH/IN/REPO[@REVISION]`, `civitai:VERSION_ID` or `urn:air:ECOSYSTEM:TYPE:civitai:MODEL_ID@VERSION_ID`. */
      source: string;
      url?: undefined;
    };

/** What a caller sends: `sha256` in either case, `url` in any form the API normalises. */
export type ModelRefInput = ModelRefFields & UrlOrSource;

type KindOptional<K extends ModelKind> = Omit<ModelRefFields, 'kind'> & UrlOrSource & { kind?: K | undefined };

/** `kind` may be left out inside `checkpoint`, `loras` and `embeddings`; a LoRA's `scale` defaults to 1. */
export interface PrepareRequest {
  checkpoint?: KindOptional<'checkpoint'> | undefined;
  loras?: Array<KindOptional<'lora'> & { scale?: number | undefined }> | undefined;
  embeddings?: Array<KindOptional<'embedding'>> | undefined;
  prompt?: string | undefined;
}

export interface BatchRequest {
  /** 1 to 1000 models. */
  items: ModelRefInput[];
}

/** `quota` asks for quota eviction too; an older API without it refuses the field, so it is only sent when given. */
export interface CleanupRequest {
  maxAgeDays?: number | undefined;
  keepPopular?: number | undefined;
  dryRun?: boolean | undefined;
  quota?: boolean | undefined;
}

/* ---------- answers (the API builds these without a schema in core) ---------- */

/** A model on the volume. `pinned` is absent on an API from before pinning. */
export interface Model {
  kind: ModelKind;
  name: string;
  path: string;
  url: string;
  sha256: string;
  fileSize: number;
  downloadedAt: string;
  lastUsed: string;
  usageCount: number;
  /** Pinned models are never removed by cleanup or quota eviction. */
  pinned?: boolean;
  /** Where the file came from, when it was resolved from a Hugging Face or Civitai reference. */
  source?: SourceRecord;
}

/** Where a file came from, as the host names it. */
export type SourceRecord =
  | {
      host: 'huggingface';
      repo: string;
      /** As asked (a branch, tag or commit). */
      revision: string;
      path: string;
      /** The commit the revision pointed at when the file was resolved. */
      commit?: string | undefined;
    }
  | { host: 'civitai'; versionId: number; modelId?: number | undefined; fileId?: number | undefined };

/**
 * Whether the file is checked against a SHA-256 known before its download (the caller's, or the
 * one the host publishes) and, when not, why no SHA-256 was known.
 */
export interface Verification {
  verified: boolean;
  unverifiedReason?: string;
}

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
  /** Fetch jobs: see Verification (absent on an API from before source references). */
  verified?: boolean;
  unverifiedReason?: string;
}

export interface LeaseFields {
  leaseId?: string;
  leaseExpiresAt?: string;
}

/**
 * POST /v1/fetch: a failed job is thrown as a JobFailedError, so it is not one of these. `linked`:
 * the same bytes (by SHA-256) were on the volume under another name and were placed under this one
 * at once, with no job.
 */
export type FetchResult = { kind: ModelKind; name: string } & (
  | { status: 'cached'; model: Model }
  | { status: 'linked'; model: Model }
  | { status: 'completed'; jobId: string; model: Model }
  | { status: 'queued' | 'active'; jobId: string }
) &
  Verification &
  LeaseFields;

export type BatchItemStatus = JobStatus | 'cached' | 'linked';

/**
 * One item of a batch: a job's model and outcome (no job when it was cached, linked or refused at
 * once). An item refused before it was resolved has no `verified`, and its `name` is the name
 * asked for, else the `source` or `url` it was asked by.
 */
export type BatchItem = { kind: ModelKind; name: string } & Partial<Pick<JobView, 'jobId' | 'error'>> &
  Partial<Verification> & {
    status: BatchItemStatus;
    path?: string;
  };

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
  /** Models of the answer not checked against a SHA-256 known beforehand (the last slice's answer covers them all). */
  unverified: Array<{ kind: ModelKind; name: string; reason: string }>;
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

/** An API without quota eviction lists removed entries as `{kind, name, fileSize}`; one with it, whole models with a `reason`. */
export interface CleanupResult {
  removed: Array<Pick<Model, 'kind' | 'name' | 'fileSize'> & Partial<Model> & { reason?: EvictionReason }>;
  freedBytes: number;
  dryRun: boolean;
  /** Models quota eviction had to keep while over a limit, and why (absent from an API without quota eviction). */
  skipped?: Array<{ kind: ModelKind; name: string; reason: KeepReason }>;
  /** With `quota`: whether both limits hold afterwards. */
  fits?: boolean;
}

/** Why quota eviction kept a model it would otherwise have removed. */
export type KeepReason = 'pinned' | 'leased' | 'in-flight' | 'grace';

/** The whole volume, one kind, or one model (a name needs its kind). */
export interface VerifyRequest {
  kind?: ModelKind | undefined;
  name?: string | undefined;
  refetch?: boolean | undefined;
}

/** What a verify job returns (JobView.result). */
export interface VerifyResult {
  checked: number;
  ok: number;
  mismatched: Array<{ kind: ModelKind; name: string; expected: string; actual: string }>;
  missing: Array<{ kind: ModelKind; name: string }>;
  quarantined: Array<{ kind: ModelKind; name: string; path: string }>;
  refetchJobs: string[];
}

/** What a scan job returns (JobView.result). */
export interface ScanResult {
  /** `source`: where Civitai says the file comes from, asked by its SHA-256 (absent when unknown). */
  adopted: Array<Pick<Model, 'kind' | 'name' | 'path' | 'sha256' | 'fileSize' | 'source'>>;
  dropped: Array<{ kind: ModelKind; name: string }>;
  sizeDrift: Array<{ kind: ModelKind; name: string; registered: number; actual: number }>;
  /** Model files left alone this time, and why (e.g. still being copied in). */
  skipped: Array<{ kind: ModelKind; file: string; reason: string }>;
  /** Registry entries that make no sense, treated as absent (kept in the file as written). */
  unreadable: Array<{ kind: ModelKind; name: string; reason: string }>;
}

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
