import { z } from 'zod';
import { MODEL_KINDS, NAME_MAX_BYTES, RESERVED_NAMES, nameProblem } from './volume-layout.js';

export const modelKindSchema = z.enum(MODEL_KINDS);

export const modelNameSchema = z
  .string()
  .superRefine((value, ctx) => {
    const problem = nameProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  // The refinement above is code; this is what the OpenAPI document can say of it (a pattern
  // counts characters, not UTF-8 bytes, so the byte limit is in words only).
  .meta({
    description:
      `Any Unicode text that is safe as one file name: 1-${NAME_MAX_BYTES} bytes in UTF-8; no "/", "\\" or control characters; ` +
      'not starting with "." and not ending with a space or "."; not a reserved word (an Object.prototype property name). ' +
      'Kept as given: it is the file name on the volume and the LoRA name in prompts. Percent-encode it in URL paths.',
    minLength: 1,
    maxLength: NAME_MAX_BYTES,
    pattern: '^(?!\\.)(?!.*[ .]$)[^/\\\\\\u0000-\\u001f\\u007f-\\u009f]+$',
    not: { enum: [...RESERVED_NAMES] },
  });

export const sha256Schema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters')
  .transform((value) => value.toLowerCase());

/** Scheme, `//` and a host: the form the OpenAPI document states (`https:host/x` is refused, though URL would read it). */
const HTTP_URL_START = '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+';
const HTTP_URL_START_RE = new RegExp(HTTP_URL_START);

export const httpUrlSchema = z
  .string()
  .max(8192)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (
        HTTP_URL_START_RE.test(value) &&
        value === value.trim() &&
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        url.hostname !== ''
      );
    } catch {
      return false;
    }
  }, 'must be an absolute http:// or https:// URL')
  // Stored in its normal form, so the same URL always compares equal.
  .transform((value) => new URL(value).href)
  .meta({
    description:
      'An absolute http:// or https:// URL (at most 8192 characters); a ?token= in it is kept apart and never stored.',
    format: 'uri',
    pattern: HTTP_URL_START,
    maxLength: 8192,
  });

/** A model as the service fetches it: every reference resolved to a name and a download URL. */
export const modelRefSchema = z.strictObject({
  kind: modelKindSchema,
  name: modelNameSchema,
  url: httpUrlSchema,
  sha256: sha256Schema.optional(),
  /** Further URLs for the same file, tried in order when a source fails. */
  mirrors: z.array(httpUrlSchema).max(10, 'at most 10 mirrors').optional(),
});
export type ModelRef = z.infer<typeof modelRefSchema>;

/** `hf:OWNER/REPO/PATH[@REVISION]`, `civitai:VERSION_ID` or `urn:air:ECOSYSTEM:TYPE:civitai:MODEL_ID@VERSION_ID`. */
export const sourceReferenceSchema = z
  .string()
  .min(1)
  .max(2048)
  .meta({
    description:
      'A file on Hugging Face (`hf:OWNER/REPO/PATH/IN/REPO[@REVISION]`) or Civitai (`civitai:VERSION_ID`, ' +
      'or an AIR `urn:air:ECOSYSTEM:TYPE:civitai:MODEL_ID@VERSION_ID`), instead of `url`.',
    examples: ['civitai:135867', 'hf:stabilityai/sdxl-vae/sdxl_vae.safetensors@main'],
  });

/**
 * What a caller asks for: a `url` or a `source` reference (one of them), and a `name` unless the
 * host tells the file name. Unknown fields are refused so a typo (say `sha265`) is not silently ignored.
 */
/** What the document says of every model request: a url or a source reference, not both. */
const URL_OR_SOURCE = {
  oneOf: [{ required: ['url'] }, { required: ['source'] }],
  description:
    'A model to fetch: `url` or `source` (one of them); `name` defaults to the file name without its extension.',
};

export const modelRequestSchema = z
  .strictObject({
    kind: modelKindSchema,
    /** Defaults to the file's name without its extension. */
    name: modelNameSchema.optional(),
    url: httpUrlSchema.optional(),
    source: sourceReferenceSchema.optional(),
    sha256: sha256Schema.optional(),
    /** Further URLs for the same file, tried in order when a source fails. */
    mirrors: z.array(httpUrlSchema).max(10, 'at most 10 mirrors').optional(),
  })
  .meta(URL_OR_SOURCE);
export type ModelRequest = z.infer<typeof modelRequestSchema>;

/** Where a file came from, as the host names it: recorded in the registry entry as `source`. */
export const sourceRecordSchema = z.discriminatedUnion('host', [
  z.strictObject({
    host: z.literal('huggingface'),
    repo: z.string(),
    /** As asked (a branch, tag or commit). */
    revision: z.string(),
    path: z.string(),
    /** The commit the revision pointed at when the file was resolved. */
    commit: z.string().optional(),
  }),
  z.strictObject({
    host: z.literal('civitai'),
    versionId: z.number().int(),
    modelId: z.number().int().optional(),
    fileId: z.number().int().optional(),
  }),
]);
export type SourceRecord = z.infer<typeof sourceRecordSchema>;

/** A model on the volume, as the API shows it. */
export interface Model {
  kind: z.infer<typeof modelKindSchema>;
  name: string;
  path: string;
  url: string;
  sha256: string;
  fileSize: number;
  downloadedAt: string;
  lastUsed: string;
  usageCount: number;
  /** Pinned models are never removed by cleanup or quota eviction. */
  pinned: boolean;
  /** Where the file came from, when it was resolved from a Hugging Face or Civitai reference. */
  source?: SourceRecord;
}

/* ---------- the download queue: its one job, shared by producer and worker ---------- */

export const QUEUE_NAME = 'model-fetch';
export const FETCH_MODEL_JOB = 'fetch-model';

export const fetchModelJobSchema = modelRefSchema.extend({
  /** Unix ms when the API accepted the request. */
  requestedAt: z.number(),
  /** Random id of the request that created the job, to tell it from a job it joined. */
  requestId: z.string().optional(),
  /** The size the host published, for the disk pre-check before the first byte. */
  expectedSize: z.number().int().min(0).optional(),
  /** Where the file comes from, when resolved from a host's metadata. */
  source: sourceRecordSchema.optional(),
  /** Why no SHA-256 was known before the download (it is then not verified against one). */
  unverifiedReason: z.string().optional(),
});
export type FetchModelJobData = z.infer<typeof fetchModelJobSchema>;

/* ---------- HTTP request bodies ---------- */

export const waitQuerySchema = z.coerce
  .number({ error: 'must be a number of seconds' })
  .min(0, 'must be at least 0')
  .max(3600, 'must be at most 3600');

export const batchRequestSchema = z.strictObject({
  items: z.array(modelRequestSchema).min(1, 'must hold at least 1 item').max(1000, 'must hold at most 1000 items'),
});

export const loraRefSchema = modelRequestSchema
  .extend({
    kind: z.literal('lora').default('lora'),
    scale: z.number().finite().default(1),
  })
  .meta(URL_OR_SOURCE);
export const embeddingRefSchema = modelRequestSchema
  .extend({ kind: z.literal('embedding').default('embedding') })
  .meta(URL_OR_SOURCE);
export const checkpointRefSchema = modelRequestSchema
  .extend({ kind: z.literal('checkpoint').default('checkpoint') })
  .meta(URL_OR_SOURCE);

export const prepareRequestSchema = z.strictObject({
  checkpoint: checkpointRefSchema.optional(),
  loras: z.array(loraRefSchema).max(100).optional(),
  embeddings: z.array(embeddingRefSchema).max(100).optional(),
  prompt: z.string().max(100_000).optional(),
});
export type PrepareRequest = z.infer<typeof prepareRequestSchema>;

export const cleanupRequestSchema = z.strictObject({
  maxAgeDays: z.number().min(0).default(30),
  keepPopular: z.number().int().min(0).default(10),
  dryRun: z.boolean().default(false),
  /** Also evict down to CACHE_MAX_BYTES and MIN_FREE_BYTES. */
  quota: z.boolean().default(false),
});
export type CleanupRequest = z.infer<typeof cleanupRequestSchema>;

/** POST /v1/verify: the whole volume, one kind, or one model (a name needs its kind). */
export const verifyRequestSchema = z
  .strictObject({
    kind: modelKindSchema.optional(),
    name: modelNameSchema.optional(),
    refetch: z.boolean().default(false),
  })
  .refine((body) => body.name === undefined || body.kind !== undefined, {
    message: 'required when name is given',
    path: ['kind'],
  });
export type VerifyRequest = z.infer<typeof verifyRequestSchema>;

/** POST /v1/scan takes no options; unknown fields are refused as everywhere. */
export const scanRequestSchema = z.strictObject({});
/** POST /v1/fetch: a ModelRequest, and `lease: true` to protect the model from removal while it is used. */
export const fetchRequestSchema = modelRequestSchema.extend({ lease: z.boolean().optional() }).meta(URL_OR_SOURCE);

/** POST /v1/leases/:id: how long from now the lease lasts (default LEASE_SECONDS). */
export const leaseExtendSchema = z.strictObject({
  seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
});
