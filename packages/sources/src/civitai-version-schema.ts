import { z } from 'zod';

// Civitai's answer to /api/v1/model-versions/{id}, read generously: only what is used is
// checked, unknown fields are fine and unset optional ones may be null.
const text = z.string().nullish();

export const civitaiFileSchema = z.object({
  id: z.number().int(),
  /** KiB, a float: times 1024 it is the exact size in bytes. */
  sizeKB: z.number().finite().min(0),
  name: z.string().min(1),
  type: text,
  metadata: z.object({ format: text, size: text, fp: text }).nullish(),
  hashes: z.object({ SHA256: text }).nullish(),
  primary: z.boolean().nullish(),
});
export type CivitaiFile = z.infer<typeof civitaiFileSchema>;

export const civitaiVersionSchema = z.object({
  modelId: z.number().int().nullish(),
  files: z.array(civitaiFileSchema),
});

/** Its answer to /api/v1/model-versions/by-hash/{hash}: the same, and which version it is. */
export const civitaiVersionByHashSchema = civitaiVersionSchema.extend({ id: z.number().int() });

/** Why an answer is not what the schema expects, in words for the unavailable reason. */
export function malformedAnswer(error: z.ZodError): string {
  const issue = error.issues[0];
  return `malformed answer (${issue?.path.join('.') || 'the answer'}: ${issue?.message ?? 'unexpected'})`;
}
