import { modelKindSchema, modelNameSchema } from '@model-manager/core';
import { componentSchemas, jsonSchema } from './components.js';
import { MOUNTED_PATHS, operations, type Operation } from './operations.js';
import { shared, sharedResponses } from './responses.js';

/** Path parameters: the schemas the routes parse them with where there is one. */
const pathParams: Record<string, Record<string, unknown>> = {
  id: { type: 'string' },
  kind: jsonSchema(modelKindSchema),
  name: jsonSchema(modelNameSchema),
};

/** `/v1/models/:kind/:name` → `/v1/models/{kind}/{name}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z_]\w*)/g, '{$1}');

/**
 * What the middleware in front of the route may answer besides the route itself: the token check
 * (401, and 403 for a read-only token on anything but GET), the rate limit (429), the body parser
 * (400, 413), Redis down (503) and the error handler (500).
 */
function withSharedResponses(path: string, method: string, op: Operation): Operation {
  const open = op.security?.length === 0;
  const onV1 = path.startsWith('/v1/');
  const responses: Record<string, unknown> = { ...op.responses };
  const add = (status: number, name: keyof typeof sharedResponses) => {
    responses[status] ??= shared(name);
  };
  if (onV1) add(400, 'InvalidRequest');
  if (onV1 && method !== 'get') add(413, 'PayloadTooLarge');
  if (!open) {
    add(401, 'Unauthorized');
    if (method !== 'get') add(403, 'Forbidden');
  }
  if (!['/healthz', '/readyz'].includes(path)) add(429, 'RateLimited');
  if (onV1) add(503, 'Unavailable');
  add(500, 'ServerError');
  return { ...op, responses };
}

let built: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document of GET /openapi.json. */
export function openApiDocument(): Record<string, unknown> {
  built ??= {
    openapi: '3.1.0',
    info: {
      title: 'Model Manager',
      version: '0.1.0',
      summary: 'Model files for image-generation workers, fetched once onto a shared volume.',
      description:
        'Downloads image-generation models onto a shared volume once, verified, tracked in a registry. Bull Board is at /admin/queues.',
    },
    // GET /openapi.json answers with the server that served it first; this is `npm start`'s default.
    servers: [{ url: 'http://127.0.0.1:3000', description: 'npm start on this machine (HOST and PORT as configured)' }],
    // Needed only when API_TOKEN is set; read-only tokens may only GET.
    security: [{ bearer: [] }],
    tags: [
      { name: 'models', description: 'Fetch, prepare, list, pin and delete models; leases' },
      { name: 'jobs', description: 'Jobs and batches, and their event streams' },
      { name: 'maintenance', description: 'Cleanup, verify and scan' },
      { name: 'operations', description: 'Stats, metrics and this document' },
      { name: 'health', description: 'Probes' },
      { name: 'dashboard', description: 'Bull Board and its sign-in' },
    ],
    paths: Object.fromEntries(
      Object.entries(operations).map(([path, methods]) => {
        const params = [...path.matchAll(/:([A-Za-z_]\w*)/g)].map(([, name]) => ({
          name,
          in: 'path',
          required: true,
          schema: pathParams[name!] ?? { type: 'string' },
        }));
        const withParams = Object.fromEntries(
          Object.entries(methods).map(([method, op]) => {
            const full = withSharedResponses(path, method, op);
            const parameters = [...params, ...(op.parameters ?? [])];
            return [method, parameters.length > 0 ? { ...full, parameters } : full];
          }),
        );
        return [openApiPath(path), withParams];
      }),
    ),
    components: {
      schemas: componentSchemas(),
      responses: sharedResponses,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'API_TOKEN (or one of API_TOKENS_READONLY, for GET only)',
        },
      },
    },
  };
  return built;
}

/** The documented operations as `METHOD /express/path` that are express routes of ours. */
export function documentedRoutes(): string[] {
  return Object.entries(operations)
    .filter(([path]) => !MOUNTED_PATHS.includes(path))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
}
