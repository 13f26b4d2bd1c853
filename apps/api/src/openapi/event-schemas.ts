import { z } from 'zod';
import { modelKindSchema } from '@model-manager/core';
import { batchView, jobView, maintenanceJobView } from './answer-schemas.js';

/*
 * Server-Sent Events: each event is `event: NAME` and one `data:` line of JSON. Described as
 * `{event, data}` pairs, one schema per stream, so a client (and the contract test) can check each.
 */

export const progressEvent = z.strictObject({
  jobId: z.string(),
  bytes: z.number(),
  totalBytes: z.number().nullable(),
  bytesPerSec: z.number(),
  kind: modelKindSchema.optional().meta({ description: 'Batch streams only.' }),
  name: z.string().optional().meta({ description: 'Batch streams only.' }),
});

const anyJob = z.union([jobView, maintenanceJobView]);

export const jobStreamEvent = z.discriminatedUnion('event', [
  z.strictObject({ event: z.literal('state'), data: anyJob }),
  z.strictObject({ event: z.literal('progress'), data: progressEvent }),
  z.strictObject({ event: z.enum(['completed', 'failed']), data: anyJob }),
]);

export const batchStreamEvent = z.discriminatedUnion('event', [
  z.strictObject({ event: z.enum(['state', 'done']), data: batchView }),
  z.strictObject({ event: z.literal('progress'), data: progressEvent }),
  z.strictObject({ event: z.enum(['completed', 'failed']), data: jobView }),
]);
