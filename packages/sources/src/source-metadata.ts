import { z } from 'zod';
import { sourceRecordSchema } from '@model-manager/core';

/** What a host says of one file before it is downloaded; cached in Redis as JSON. */
export const sourceMetadataSchema = z.object({
  fileName: z.string().min(1),
  /** Lower-case hex; absent when the host publishes none. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** Why the host publishes no SHA-256 (set when sha256 is not). */
  noSha256Reason: z.string().optional(),
  size: z.number().int().min(0),
  source: sourceRecordSchema,
  /** Civitai: the chosen file's own parameters, so the download asks for that file. */
  fileParams: z.object({ type: z.string(), format: z.string(), size: z.string(), fp: z.string() }).partial().optional(),
});
export type SourceMetadata = z.infer<typeof sourceMetadataSchema>;

/** A host's answer: the file's metadata, or why it could not be had (the download then goes on unverified). */
export type MetadataAnswer = { found: SourceMetadata } | { unavailable: string };
