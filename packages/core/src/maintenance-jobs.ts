import { z } from 'zod';
import { modelKindSchema, modelNameSchema, type Model } from './schemas.js';
import type { ModelKind } from './volume-layout.js';

/**
 * Volume upkeep (cleanup, verify, scan) runs as jobs on a queue of its own: it never waits
 * behind downloads or takes a download's slot, and each run is visible in the dashboard.
 */
export const MAINTENANCE_QUEUE = 'model-maintenance';

/** The job scheduler behind CLEANUP_CRON; BullMQ names its jobs `repeat:cleanup-schedule:<due ms>`. */
export const CLEANUP_SCHEDULER_ID = 'cleanup-schedule';

/**
 * Maintenance job ids carry their name, so GET /v1/jobs/:id knows which queue to look in; the
 * scheduled cleanup's jobs are named by BullMQ after the scheduler.
 */
export const MAINTENANCE_JOB_ID = /^((cleanup|verify|scan)-[A-Za-z0-9_.:-]{1,100}|repeat:cleanup-schedule:\d{1,20})$/;

export const cleanupJobSchema = z.object({
  /** Who asked: the schedule (CLEANUP_CRON), the API, or a download that needs room. */
  trigger: z.enum(['schedule', 'api', 'download']),
  dryRun: z.boolean().default(false),
});

export const verifyJobSchema = z.object({
  kind: modelKindSchema.optional(),
  name: modelNameSchema.optional(),
  refetch: z.boolean().default(false),
});

export const scanJobSchema = z.object({});

/** One schema per maintenance job name, shared by the API (producer) and the worker. */
export const maintenanceJobCatalog = {
  cleanup: cleanupJobSchema,
  verify: verifyJobSchema,
  scan: scanJobSchema,
} as const;
export type MaintenanceJobName = keyof typeof maintenanceJobCatalog;
export type MaintenanceJobData<N extends MaintenanceJobName> = z.infer<(typeof maintenanceJobCatalog)[N]>;

/** What a verify job returns (GET /v1/jobs/:id shows it as `result`). */
export interface VerifyResult {
  checked: number;
  ok: number;
  mismatched: Array<{ kind: ModelKind; name: string; expected: string; actual: string }>;
  missing: Array<{ kind: ModelKind; name: string }>;
  quarantined: Array<{ kind: ModelKind; name: string; path: string }>;
  refetchJobs: string[];
}

/** What a scan job returns. */
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
