import { modelKindSchema, waitQuerySchema } from '@model-manager/core';
import { jsonSchema, ref, type ComponentName } from './components.js';
import { error, events, json, shared, text } from './responses.js';

export interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  /** `[]` for the routes open without a token. */
  security?: unknown[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

const waitParam = (fallback: number) => ({
  name: 'wait',
  in: 'query',
  required: false,
  description: `Seconds to wait for the job(s) to finish (default ${fallback}).`,
  schema: { ...jsonSchema(waitQuerySchema), default: fallback },
});
const body = (name: ComponentName, required = true) => ({
  required,
  content: { 'application/json': { schema: ref(name) } },
});
const invalid = shared('InvalidRequest');
const notFound = shared('NotFound');
const job = {
  description: 'A fetch job (JobView) or a maintenance job (MaintenanceJobView, ids `cleanup-…`, `verify-…`, `scan-…`)',
  content: { 'application/json': { schema: { oneOf: [ref('JobView'), ref('MaintenanceJobView')] } } },
};

/** Paths as express writes them (`:id`); the document turns them into `{id}` with their parameters. */
export const operations: Record<string, Partial<Record<'get' | 'post' | 'delete', Operation>>> = {
  '/healthz': {
    get: {
      operationId: 'getHealth',
      tags: ['health'],
      summary: 'Liveness',
      security: [],
      responses: { 200: json('Health', 'Alive') },
    },
  },
  '/readyz': {
    get: {
      operationId: 'getReadiness',
      tags: ['health'],
      summary: 'Readiness: Redis answers and MODELS_DIR is writable',
      security: [],
      responses: { 200: json('Readiness', 'Ready'), 503: error('NOT_READY: `details` lists each problem') },
    },
  },
  '/admin/queues/login': {
    get: {
      operationId: 'getDashboardSignIn',
      tags: ['dashboard'],
      summary: "The dashboard's sign-in page",
      security: [],
      responses: { 200: text('text/html', 'An HTML form') },
    },
    post: {
      operationId: 'signInToDashboard',
      tags: ['dashboard'],
      summary: 'Sign in to the dashboard with a token: sets an HttpOnly, SameSite=Strict session cookie',
      security: [],
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] },
          },
        },
      },
      responses: {
        303: { description: 'Signed in: to the dashboard' },
        401: text('text/html', 'Not a valid token: the form again'),
      },
    },
  },
  '/admin/queues': {
    get: {
      operationId: 'getDashboard',
      tags: ['dashboard'],
      summary:
        'Bull Board: the queues in a browser (its pages and JSON calls below /admin/queues/ are its own, not a stable API)',
      responses: { 200: text('text/html', 'The dashboard'), 303: { description: 'No session: to the sign-in page' } },
    },
  },
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      tags: ['operations'],
      summary: 'Prometheus metrics (open without a token when METRICS_PUBLIC=true)',
      responses: { 200: text('text/plain', 'Prometheus text format') },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      tags: ['operations'],
      summary: 'This document',
      responses: {
        200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } },
      },
    },
  },
  '/v1/fetch': {
    post: {
      operationId: 'fetchModel',
      tags: ['models'],
      summary: 'Fetch one model (cached, or a job), optionally waiting for it',
      parameters: [waitParam(0)],
      requestBody: body('FetchRequest'),
      responses: {
        200: json('FetchAnswer', '`cached`, `linked` or `completed`, with `model`'),
        202: json('FetchAnswer', '`queued` or `active`, with `jobId`'),
        404: error('SOURCE_NOT_FOUND: Hugging Face or Civitai does not know the repository, file or version'),
        409: error(
          'CONFLICT: the model is being fetched from another url or sha256; HASH_CONFLICT: the sha256 given is not the one the host publishes (`details.given`, `details.host`)',
        ),
        422: error(
          'AUTH_REQUIRED: the host needs a token the service lacks (HF_TOKEN, CIVITAI_TOKEN); UNVERIFIED: REQUIRE_VERIFIED is on and no SHA-256 is known',
        ),
        502: json('FetchAnswer', '`failed`, with `error`'),
      },
    },
  },
  '/v1/batches': {
    post: {
      operationId: 'createBatch',
      tags: ['jobs'],
      summary: 'Prefetch many models',
      requestBody: body('BatchRequest'),
      responses: { 202: json('BatchCreated', 'The batch and its items') },
    },
  },
  '/v1/batches/:id': {
    get: {
      operationId: 'getBatch',
      tags: ['jobs'],
      summary: 'Where a batch stands',
      parameters: [waitParam(0)],
      responses: { 200: json('BatchView', 'The batch'), 400: invalid, 404: notFound },
    },
  },
  '/v1/batches/:id/events': {
    get: {
      operationId: 'streamBatchEvents',
      tags: ['jobs'],
      summary: 'Server-Sent Events of a batch',
      responses: {
        200: events(
          'BatchStreamEvent',
          '`state`, per job `progress`/`completed`/`failed` (progress with kind and name), `done` last.',
        ),
        404: notFound,
      },
    },
  },
  '/v1/jobs/:id': {
    get: {
      operationId: 'getJob',
      tags: ['jobs'],
      summary: 'Where a job stands',
      parameters: [waitParam(0)],
      responses: { 200: job, 400: invalid, 404: notFound },
    },
  },
  '/v1/jobs/:id/events': {
    get: {
      operationId: 'streamJobEvents',
      tags: ['jobs'],
      summary: 'Server-Sent Events of a job',
      responses: {
        200: events(
          'JobStreamEvent',
          '`state`, `progress`, then one `completed` or `failed`; a maintenance job sends `state` and its final event only.',
        ),
        404: notFound,
      },
    },
  },
  '/v1/prepare': {
    post: {
      operationId: 'prepareModels',
      tags: ['models'],
      summary: 'Everything one generation needs, fetched in parallel, under one lease',
      parameters: [waitParam(600)],
      requestBody: body('PrepareRequest'),
      responses: {
        200: json('PrepareAnswer', 'Paths, the prompt with LoRA tags, what failed and what was downloaded'),
      },
    },
  },
  '/v1/models': {
    get: {
      operationId: 'listModels',
      tags: ['models'],
      summary: 'Models on the volume',
      parameters: [{ name: 'kind', in: 'query', required: false, schema: jsonSchema(modelKindSchema) }],
      responses: { 200: json('ModelList', 'The models'), 400: invalid },
    },
  },
  '/v1/models/:kind/:name': {
    get: {
      operationId: 'getModel',
      tags: ['models'],
      summary: 'One model',
      responses: { 200: json('Model', 'The model'), 400: invalid, 404: notFound },
    },
    delete: {
      operationId: 'deleteModel',
      tags: ['models'],
      summary: 'Delete a model (file and entry)',
      responses: {
        204: { description: 'Deleted' },
        404: notFound,
        409: error('FETCH_IN_PROGRESS: a job is fetching it now'),
      },
    },
  },
  '/v1/models/:kind/:name/pin': {
    post: {
      operationId: 'pinModel',
      tags: ['models'],
      summary: 'Pin a model: never removed by eviction or cleanup',
      responses: { 200: json('Model', 'The model, pinned'), 404: notFound },
    },
    delete: {
      operationId: 'unpinModel',
      tags: ['models'],
      summary: 'Unpin a model',
      responses: { 200: json('Model', 'The model, unpinned'), 404: notFound },
    },
  },
  '/v1/leases/:id': {
    post: {
      operationId: 'extendLease',
      tags: ['models'],
      summary: 'Extend a lease (default LEASE_SECONDS from now)',
      requestBody: body('LeaseExtend', false),
      responses: { 200: json('Lease', 'The lease'), 404: error('LEASE_NOT_FOUND') },
    },
    delete: {
      operationId: 'releaseLease',
      tags: ['models'],
      summary: 'Release a lease',
      responses: { 204: { description: 'Released' }, 404: error('LEASE_NOT_FOUND') },
    },
  },
  '/v1/stats': {
    get: {
      operationId: 'getStats',
      tags: ['operations'],
      summary: 'Counts, sizes, disk usage, hit rate, download counters',
      responses: { 200: json('Stats', 'Numbers') },
    },
  },
  '/v1/cleanup': {
    post: {
      operationId: 'cleanupModels',
      tags: ['maintenance'],
      summary: 'Delete models unused for maxAgeDays, keeping the most popular; with quota, evict down to the limits',
      requestBody: body('CleanupRequest', false),
      responses: { 200: json('CleanupAnswer', 'What was (or, with dryRun, would be) removed') },
    },
  },
  '/v1/verify': {
    post: {
      operationId: 'queueVerify',
      tags: ['maintenance'],
      summary:
        'Queue a verify job: re-hash files against the registry, quarantine corrupt ones, optionally re-fetch them',
      requestBody: body('VerifyRequest', false),
      responses: { 202: json('MaintenanceQueued', 'The verify job; follow it at /v1/jobs/{jobId}'), 404: notFound },
    },
  },
  '/v1/scan': {
    post: {
      operationId: 'queueScan',
      tags: ['maintenance'],
      summary:
        'Queue a scan job: adopt files copied in by hand (with their Civitai origin when Civitai knows their SHA-256), drop entries whose file is gone, report size drift',
      requestBody: body('ScanRequest', false),
      responses: { 202: json('MaintenanceQueued', 'The scan job; follow it at /v1/jobs/{jobId}') },
    },
  },
};

/** Mounted by Bull Board, not an express route of ours: left out of the comparison with the app's routes. */
export const MOUNTED_PATHS: readonly string[] = ['/admin/queues'];
