import { z } from 'zod';
import { modelKindSchema, sourceRecordSchema } from '@model-manager/core';

/*
 * What the API answers, as zod schemas. Answers are closed objects (`strictObject`): a field the
 * code starts sending must be described here first, or the contract test fails.
 */

export const errorInfo = z.strictObject({ code: z.string(), message: z.string(), status: z.number().int().optional() });
export const apiError = z.strictObject({
  error: z.strictObject({
    code: z
      .string()
      .meta({ description: 'Stable, upper-case: INVALID_REQUEST, NOT_FOUND, UNAUTHORIZED, ... (see docs/api.md).' }),
    message: z.string(),
    details: z
      .unknown()
      .optional()
      .meta({ description: 'For INVALID_REQUEST: `[{field, message}]`, one per offending field.' }),
  }),
});
export const model = z.strictObject({
  kind: modelKindSchema,
  name: z.string(),
  path: z.string(),
  url: z.string(),
  sha256: z.string(),
  fileSize: z.number().int(),
  downloadedAt: z.string(),
  lastUsed: z.string(),
  usageCount: z.number().int(),
  pinned: z.boolean(),
  source: sourceRecordSchema
    .optional()
    .meta({ description: 'Where the file came from, when it was resolved from a Hugging Face or Civitai reference.' }),
});
const modelName = z.strictObject({ kind: modelKindSchema, name: z.string() });
const jobStatus = z.enum(['queued', 'active', 'completed', 'failed']);
const verification = {
  verified: z.boolean().meta({
    description:
      'Whether the file is checked against a SHA-256 known before its download: the caller’s `sha256`, or the one Hugging Face or Civitai publishes.',
  }),
  unverifiedReason: z.string().optional().meta({
    description: 'When not verified: why no SHA-256 was known (none given or published, metadata unavailable).',
  }),
};
export const jobView = z.strictObject({
  jobId: z.string(),
  kind: modelKindSchema,
  name: z.string(),
  status: jobStatus,
  progress: z.strictObject({ bytes: z.number(), totalBytes: z.number().nullable() }),
  attempts: z.number().int(),
  model: model.optional(),
  error: errorInfo.optional(),
  lastError: errorInfo.optional().meta({ description: 'Why the previous attempt failed, while the job is retried.' }),
  verified: verification.verified.optional(),
  unverifiedReason: verification.unverifiedReason,
});
export const maintenanceJobView = z.strictObject({
  jobId: z.string().meta({ description: '`cleanup-…`, `verify-…` or `scan-…`' }),
  job: z.enum(['cleanup', 'verify', 'scan']),
  kind: modelKindSchema.optional().meta({ description: 'The kind a verify was limited to.' }),
  name: z.string().optional().meta({ description: 'The model a verify was limited to.' }),
  status: jobStatus,
  progress: z
    .object({ checked: z.number().optional(), total: z.number().optional() })
    .meta({ description: 'Verify and scan: models checked so far.' }),
  attempts: z.number().int(),
  result: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: 'Once completed: what the job found and did (docs/api.md lists the fields).' }),
  error: errorInfo.optional(),
});
const itemStatus = z.enum(['cached', 'linked', 'queued', 'active', 'completed', 'failed']).meta({
  description:
    '`linked`: the same bytes (by SHA-256) were on the volume under another name, and were placed under this one at once, with no download.',
});
export const batchItem = z.strictObject({
  kind: modelKindSchema,
  name: z.string(),
  status: itemStatus,
  jobId: z.string().optional(),
  path: z.string().optional(),
  error: errorInfo.optional(),
  verified: verification.verified
    .optional()
    .meta({ description: 'Absent for an item refused before it was resolved.' }),
  unverifiedReason: verification.unverifiedReason,
});
export const batchView = z.strictObject({
  batchId: z.string(),
  done: z.boolean(),
  counts: z.strictObject({
    total: z.number(),
    cached: z.number(),
    linked: z.number(),
    queued: z.number(),
    active: z.number(),
    completed: z.number(),
    failed: z.number(),
  }),
  jobs: z.array(batchItem),
});
export const batchCreated = z.strictObject({ batchId: z.string(), jobs: z.array(batchItem.omit({ path: true })) });
export const fetchAnswer = z.strictObject({
  status: itemStatus,
  kind: modelKindSchema,
  name: z
    .string()
    .meta({ description: 'The name asked for, else the one it defaults to (the file name without its extension).' }),
  jobId: z.string().optional(),
  model: model.optional(),
  error: errorInfo.optional(),
  ...verification,
  leaseId: z.string().optional().meta({ description: 'With `lease: true`.' }),
  leaseExpiresAt: z.string().optional(),
});
export const prepareAnswer = z.strictObject({
  checkpointPath: z.string().nullable(),
  loras: z.array(z.strictObject({ name: z.string(), path: z.string(), scale: z.number() })),
  embeddings: z.array(z.strictObject({ name: z.string(), path: z.string() })),
  prompt: z.string(),
  failed: z.array(z.strictObject({ kind: modelKindSchema, name: z.string(), error: errorInfo })),
  downloaded: z.array(modelName).meta({
    description:
      'Models that were not on the volume when the request came (downloaded, or linked to the same content).',
  }),
  unverified: z.array(z.strictObject({ kind: modelKindSchema, name: z.string(), reason: z.string() })).meta({
    description:
      'Models of the answer whose bytes were not checked against a SHA-256 known before their download (none given, none published, or the metadata was unavailable), and why.',
  }),
  leaseId: z.string(),
  leaseExpiresAt: z.string(),
});
export const leaseAnswer = z.strictObject({ leaseId: z.string(), expiresAt: z.string(), models: z.array(modelName) });
const kindTotals = z.strictObject({ count: z.number(), totalSize: z.number() });
export const statsAnswer = z.strictObject({
  checkpoints: kindTotals,
  loras: kindTotals,
  embeddings: kindTotals,
  diskUsage: z.strictObject({ total: z.number(), used: z.number(), free: z.number() }),
  cache: z.strictObject({ hits: z.number(), misses: z.number(), hitRate: z.number() }),
  downloads: z.strictObject({ succeeded: z.number(), failed: z.number(), bytes: z.number() }),
});
export const cleanupAnswer = z.strictObject({
  removed: z.array(model.extend({ reason: z.enum(['age', 'max-bytes', 'min-free']) })),
  freedBytes: z.number(),
  dryRun: z.boolean(),
  skipped: z.array(z.object({ kind: modelKindSchema, name: z.string(), reason: z.string() }).loose()),
  fits: z
    .boolean()
    .optional()
    .meta({ description: 'With `quota: true`: whether both limits hold after the removals.' }),
});
export const modelList = z.strictObject({ models: z.array(model) });
export const maintenanceQueued = z.strictObject({ jobId: z.string() });
export const health = z.strictObject({ status: z.literal('ok') });
export const readiness = z.strictObject({ status: z.literal('ready') });
