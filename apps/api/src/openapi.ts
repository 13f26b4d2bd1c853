import { z } from 'zod';
import {
  batchRequestSchema,
  cleanupRequestSchema,
  fetchRequestSchema,
  leaseExtendSchema,
  modelKindSchema,
  modelRefSchema,
  prepareRequestSchema,
  scanRequestSchema,
  verifyRequestSchema,
  waitQuerySchema,
} from '@model-manager/core';

/*
 * The OpenAPI 3.1 document of GET /openapi.json. Request bodies and parameters are the very zod
 * schemas the routes validate with (as their input side: what a caller sends, before defaults and
 * transforms); answers are described by the schemas below. A test compares the paths with the
 * routes the express app has, so a route cannot be added without being documented here.
 */

const errorInfo = z.object({ code: z.string(), message: z.string(), status: z.number().int().optional() });
const apiError = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });
const model = z.object({
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
});
const jobStatus = z.enum(['queued', 'active', 'completed', 'failed']);
const jobView = z.object({
  jobId: z.string(),
  kind: modelKindSchema,
  name: z.string(),
  status: jobStatus,
  progress: z.object({ bytes: z.number(), totalBytes: z.number().nullable() }),
  attempts: z.number().int(),
  model: model.optional(),
  error: errorInfo.optional(),
  lastError: errorInfo.optional(),
});
const batchItem = z.object({
  kind: modelKindSchema,
  name: z.string(),
  status: z.enum(['cached', 'queued', 'active', 'completed', 'failed']),
  jobId: z.string().optional(),
  path: z.string().optional(),
  error: errorInfo.optional(),
});
const batchView = z.object({
  batchId: z.string(),
  done: z.boolean(),
  counts: z.object({ total: z.number(), cached: z.number(), queued: z.number(), active: z.number(), completed: z.number(), failed: z.number() }),
  jobs: z.array(batchItem),
});
const batchCreated = z.object({ batchId: z.string(), jobs: z.array(batchItem.omit({ path: true })) });
const fetchAnswer = z.object({
  status: z.enum(['cached', 'queued', 'active', 'completed', 'failed']),
  jobId: z.string().optional(),
  model: model.optional(),
  error: errorInfo.optional(),
  leaseId: z.string().optional().meta({ description: 'With `lease: true`.' }),
  leaseExpiresAt: z.string().optional(),
});
const prepareAnswer = z.object({
  checkpointPath: z.string().nullable(),
  loras: z.array(z.object({ name: z.string(), path: z.string(), scale: z.number() })),
  embeddings: z.array(z.object({ name: z.string(), path: z.string() })),
  prompt: z.string(),
  failed: z.array(z.object({ kind: modelKindSchema, name: z.string(), error: errorInfo })),
  downloaded: z
    .array(z.object({ kind: modelKindSchema, name: z.string() }))
    .meta({ description: 'Models that were not on the volume when the request came (downloaded, or linked to the same content).' }),
  leaseId: z.string(),
  leaseExpiresAt: z.string(),
});
const leaseAnswer = z.object({ leaseId: z.string(), expiresAt: z.string(), models: z.array(z.object({ kind: modelKindSchema, name: z.string() })) });
const kindTotals = z.object({ count: z.number(), totalSize: z.number() });
const statsAnswer = z.object({
  checkpoints: kindTotals,
  loras: kindTotals,
  embeddings: kindTotals,
  diskUsage: z.object({ total: z.number(), used: z.number(), free: z.number() }),
  cache: z.object({ hits: z.number(), misses: z.number(), hitRate: z.number() }),
  downloads: z.object({ succeeded: z.number(), failed: z.number(), bytes: z.number() }),
});
const cleanupAnswer = z.object({
  removed: z.array(model.extend({ reason: z.enum(['age', 'max-bytes', 'min-free']) })),
  freedBytes: z.number(),
  dryRun: z.boolean(),
  skipped: z.array(z.object({ kind: modelKindSchema, name: z.string(), reason: z.string() }).loose()),
  fits: z.boolean().optional().meta({ description: 'With `quota: true`: whether both limits hold after the removals.' }),
});
const progressEvent = z.object({
  jobId: z.string(),
  bytes: z.number(),
  totalBytes: z.number().nullable(),
  bytesPerSec: z.number(),
  kind: modelKindSchema.optional().meta({ description: 'Batch streams only.' }),
  name: z.string().optional().meta({ description: 'Batch streams only.' }),
});

const components = {
  ModelRef: modelRefSchema,
  FetchRequest: fetchRequestSchema,
  LeaseExtend: leaseExtendSchema,
  Lease: leaseAnswer,
  Model: model,
  ErrorInfo: errorInfo,
  Error: apiError,
  JobView: jobView,
  BatchRequest: batchRequestSchema,
  BatchCreated: batchCreated,
  BatchView: batchView,
  FetchAnswer: fetchAnswer,
  PrepareRequest: prepareRequestSchema,
  PrepareAnswer: prepareAnswer,
  Stats: statsAnswer,
  CleanupRequest: cleanupRequestSchema,
  CleanupAnswer: cleanupAnswer,
  ProgressEvent: progressEvent,
  VerifyRequest: verifyRequestSchema,
  ScanRequest: scanRequestSchema,
  MaintenanceQueued: z.object({ jobId: z.string() }),
} satisfies Record<string, z.ZodType>;
type ComponentName = keyof typeof components;

/** A zod schema as JSON Schema 2020-12 (the dialect of OpenAPI 3.1); requests as their input side. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: ComponentName, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => json('Error', description);
const invalid = error('INVALID_REQUEST: the fields named in `details` are wrong.');
const notFound = error('NOT_FOUND');
const events = (description: string) => ({
  description,
  content: { 'text/event-stream': { schema: { type: 'string', description: 'Events `state`, `progress` (data: ProgressEvent), `completed`, `failed`, (batches) `done`; comment lines `: keep-alive` every 15 s.' } } },
});
const waitParam = (fallback: number) => ({
  name: 'wait',
  in: 'query',
  required: false,
  description: `Seconds to wait for the job(s) to finish (default ${fallback}).`,
  schema: { ...jsonSchema(waitQuerySchema), default: fallback },
});
const body = (name: ComponentName, required = true) => ({ required, content: { 'application/json': { schema: ref(name) } } });

interface Operation {
  summary: string;
  /** `[]` for the routes open without a token. */
  security?: unknown[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

/** Paths as express writes them (`:id`); turned into OpenAPI's `{id}` with their parameters below. */
const operations: Record<string, Partial<Record<'get' | 'post' | 'delete', Operation>>> = {
  '/healthz': { get: { summary: 'Liveness', security: [], responses: { 200: { description: '`{"status":"ok"}`' } } } },
  '/readyz': { get: { summary: 'Readiness: Redis answers and MODELS_DIR is writable', security: [], responses: { 200: { description: '`{"status":"ready"}`' }, 503: error('NOT_READY') } } },
  '/admin/queues/login': {
    get: { summary: "The dashboard's sign-in page", security: [], responses: { 200: { description: 'An HTML form', content: { 'text/html': { schema: { type: 'string' } } } } } },
    post: {
      summary: 'Sign in to the dashboard with a token: sets an HttpOnly, SameSite=Strict session cookie',
      security: [],
      requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } } } },
      responses: { 303: { description: 'Signed in: to the dashboard' }, 401: { description: 'Not a valid token: the form again' } },
    },
  },
  '/v1/verify': {
    post: {
      summary: 'Queue a verify job: re-hash files against the registry, quarantine corrupt ones, optionally re-fetch them',
      requestBody: body('VerifyRequest', false),
      responses: { 202: json('MaintenanceQueued', 'The verify job; follow it at /v1/jobs/{jobId}'), 400: invalid, 404: notFound },
    },
  },
  '/v1/scan': {
    post: {
      summary: 'Queue a scan job: adopt files copied in by hand, drop entries whose file is gone, report size drift',
      requestBody: body('ScanRequest', false),
      responses: { 202: json('MaintenanceQueued', 'The scan job; follow it at /v1/jobs/{jobId}'), 400: invalid },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics (open without a token when METRICS_PUBLIC=true)', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
  '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
  '/v1/fetch': {
    post: {
      summary: 'Fetch one model (cached, or a job), optionally waiting for it',
      parameters: [waitParam(0)],
      requestBody: body('FetchRequest'),
      responses: {
        200: json('FetchAnswer', '`cached` or `completed`, with `model`'),
        202: json('FetchAnswer', '`queued` or `active`, with `jobId`'),
        400: invalid,
        409: error('CONFLICT: the model is being fetched from another url or sha256'),
        502: json('FetchAnswer', '`failed`, with `error`'),
      },
    },
  },
  '/v1/batches': { post: { summary: 'Prefetch many models', requestBody: body('BatchRequest'), responses: { 202: json('BatchCreated', 'The batch and its items'), 400: invalid } } },
  '/v1/batches/:id': { get: { summary: 'Where a batch stands', parameters: [waitParam(0)], responses: { 200: json('BatchView', 'The batch'), 400: invalid, 404: notFound } } },
  '/v1/batches/:id/events': { get: { summary: 'Server-Sent Events of a batch', responses: { 200: events('`state` (BatchView), per job `progress`/`completed`/`failed` (with kind and name), `done` (BatchView)'), 404: notFound } } },
  '/v1/jobs/:id': { get: { summary: 'Where a job stands', parameters: [waitParam(0)], responses: { 200: json('JobView', 'The job'), 400: invalid, 404: notFound } } },
  '/v1/jobs/:id/events': { get: { summary: 'Server-Sent Events of a job', responses: { 200: events('`state` (JobView), `progress`, then one `completed` or `failed` (JobView); a maintenance job (verify, scan, cleanup) sends `state` and its final event only'), 404: notFound } } },
  '/v1/prepare': {
    post: {
      summary: 'Everything one generation needs, fetched in parallel',
      parameters: [waitParam(600)],
      requestBody: body('PrepareRequest'),
      responses: { 200: json('PrepareAnswer', 'Paths, the prompt with LoRA tags, and what failed'), 400: invalid },
    },
  },
  '/v1/models': {
    get: {
      summary: 'Models on the volume',
      parameters: [{ name: 'kind', in: 'query', required: false, schema: jsonSchema(modelKindSchema) }],
      responses: { 200: { description: '`{"models": Model[]}`', content: { 'application/json': { schema: { type: 'object', properties: { models: { type: 'array', items: ref('Model') } }, required: ['models'] } } } }, 400: invalid },
    },
  },
  '/v1/models/:kind/:name': {
    get: { summary: 'One model', responses: { 200: json('Model', 'The model'), 400: invalid, 404: notFound } },
    delete: { summary: 'Delete a model (file and entry)', responses: { 204: { description: 'Deleted' }, 400: invalid, 404: notFound, 409: error('FETCH_IN_PROGRESS') } },
  },
  '/v1/models/:kind/:name/pin': {
    post: { summary: 'Pin a model: never removed by eviction or cleanup', responses: { 200: json('Model', 'The model, pinned'), 400: invalid, 404: notFound } },
    delete: { summary: 'Unpin a model', responses: { 200: json('Model', 'The model, unpinned'), 400: invalid, 404: notFound } },
  },
  '/v1/leases/:id': {
    post: { summary: 'Extend a lease (default LEASE_SECONDS from now)', requestBody: body('LeaseExtend', false), responses: { 200: json('Lease', 'The lease'), 400: invalid, 404: error('LEASE_NOT_FOUND') } },
    delete: { summary: 'Release a lease', responses: { 204: { description: 'Released' }, 404: error('LEASE_NOT_FOUND') } },
  },
  '/v1/stats': { get: { summary: 'Counts, sizes, disk usage, hit rate, download counters', responses: { 200: json('Stats', 'Numbers') } } },
  '/v1/cleanup': { post: { summary: 'Delete models unused for maxAgeDays, keeping the most popular', requestBody: body('CleanupRequest', false), responses: { 200: json('CleanupAnswer', 'What was (or, with dryRun, would be) removed'), 400: invalid } } },
};

/** Path parameters: the schemas the routes parse them with where there is one. */
const pathParams: Record<string, Record<string, unknown>> = {
  id: { type: 'string' },
  kind: jsonSchema(modelKindSchema),
  name: { type: 'string', minLength: 1, maxLength: 128 },
};

/** `/v1/models/:kind/:name` → `/v1/models/{kind}/{name}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z_]\w*)/g, '{$1}');

let built: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  built ??= {
    openapi: '3.1.0',
    info: {
      title: 'Model Manager',
      version: '0.1.0',
      description: 'Downloads image-generation models onto a shared volume once, verified, tracked in a registry. Bull Board is at /admin/queues.',
    },
    // Needed only when API_TOKEN is set; read-only tokens may only GET.
    security: [{ bearer: [] }],
    paths: Object.fromEntries(
      Object.entries(operations).map(([path, methods]) => {
        const params = [...path.matchAll(/:([A-Za-z_]\w*)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: pathParams[name!] ?? { type: 'string' } }));
        const withParams = Object.fromEntries(
          Object.entries(methods).map(([method, op]) => [method, { ...op, parameters: [...params, ...(op.parameters ?? [])] }]),
        );
        return [openApiPath(path), withParams];
      }),
    ),
    components: {
      schemas: Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, jsonSchema(schema)])),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API_TOKEN (or one of API_TOKENS_READONLY, for GET only)' } },
    },
  };
  return built;
}

/** The documented operations as `METHOD /express/path`, for the test that compares them with the app. */
export function documentedRoutes(): string[] {
  return Object.entries(operations).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
}
