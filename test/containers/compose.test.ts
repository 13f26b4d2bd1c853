// docker-compose.yml checked without a Docker engine: against the Compose Specification's JSON
// schema (the copy the dclint package ships in schemas/compose.schema.json, draft-07), and for
// what a deployment relies on. CI's containers check (test/stack/) runs it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { configSchema } from '@model-manager/core';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const composeText = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');

type Service = Record<string, unknown> & {
  read_only?: boolean;
  tmpfs?: string[];
  environment?: Record<string, string>;
  env_file?: Array<string | { path: string; required?: boolean }> | string;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number | string };
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
  command?: string[];
};
type Compose = { services: Record<string, Service>; volumes: Record<string, unknown> };

/** Compose's interpolation with nothing set: `${VAR:-default}` and `${VAR-default}` give the default, `${VAR}` nothing. */
function interpolate(value: unknown, env: Record<string, string> = {}): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
      (whole, name?: string, op?: string, arg?: string) => {
        if (whole === '$$') return '$';
        const set = env[name!];
        if (op?.endsWith('?')) throw new Error(`${name} is required: ${arg}`);
        if (op === ':-') return set ? set : (arg ?? '');
        if (op === '-') return set ?? arg ?? '';
        return set ?? '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

// As Compose reads it: YAML merge keys (`<<: *app`) applied, then variables interpolated.
const raw = parse(composeText, { merge: true }) as Compose;
const compose = interpolate(raw) as Compose;
const { redis, api, worker } = compose.services as Record<'redis' | 'api' | 'worker', Service>;

function composeValidator() {
  const schemaPath = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { $schema: string; title: string };
  const ajv = new Ajv({ allErrors: true, strictTypes: false, allowUnionTypes: true });
  // The schema names draft-07 by its https address; ajv knows the meta-schema by the http one.
  const draft7 = require('ajv/dist/refs/json-schema-draft-07.json') as Record<string, unknown>;
  ajv.addMetaSchema({ ...draft7, $id: schema.$schema });
  return { schema, validate: ajv.compile(schema) };
}

function errorsOf(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('\n');
}

function seconds(duration: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!m || (!m[1] && !m[2])) throw new Error(`unexpected duration ${duration}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|AUTH_HEADERS|API_KEY|PRIVATE_KEY/i;

describe('docker-compose.yml against the Compose Specification schema', () => {
  const { schema, validate } = composeValidator();

  it('uses the Compose Specification schema, draft-07', () => {
    expect(schema.title).toBe('Compose Specification');
    expect(schema.$schema).toMatch(/draft-07/);
  });

  it('is valid as written and with its variables interpolated', () => {
    expect(validate(raw), errorsOf(validate.errors)).toBe(true);
    expect(validate(compose), errorsOf(validate.errors)).toBe(true);
    const withEnv = interpolate(raw, {
      WORKER_REPLICAS: '6',
      API_BIND_ADDRESS: '0.0.0.0',
      API_PORT: '8080',
      REDIS_URL: 'rediss://r.example:6380',
    });
    expect(validate(withEnv), errorsOf(validate.errors)).toBe(true);
  });

  it('rejects what the schema forbids, so the check has teeth', () => {
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.worker!.replicas_typo = 3;
    expect(validate(broken)).toBe(false);
    const badDepends = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    badDepends.services.api!.depends_on = { redis: { condition: 'service_ready' } };
    expect(validate(badDepends)).toBe(false);
  });
});

describe('docker-compose.yml: what a deployment relies on', () => {
  it('runs redis append-only, never evicting keys, with a health check and a data volume', () => {
    const command = redis.command!.join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(redis.volumes).toContain('redis-data:/data');
    // Published on loopback at most: this Redis has no password.
    for (const port of redis.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  it('gives the api its token from .env, never from this file, and publishes its port', () => {
    expect(raw.services.api!.environment?.API_TOKEN).toBe('${API_TOKEN:-}');
    expect(api.env_file).toBeUndefined();
    expect(api.environment?.HOST).toBe('0.0.0.0');
    expect(api.ports).toEqual(['127.0.0.1:3000:3000']);
    expect(api.build).toMatchObject({ context: '.', target: 'api' });
  });

  it('never lets the api run unauthenticated', () => {
    expect(composeText).not.toMatch(/ALLOW_UNAUTHENTICATED/);
  });

  it('runs several workers from the worker image, with no port', () => {
    expect(Number(worker.deploy?.replicas)).toBeGreaterThanOrEqual(2);
    expect(worker.ports).toBeUndefined();
    expect(worker.build).toMatchObject({ context: '.', target: 'worker' });
  });

  it('gives each service only the settings it reads: origin credentials to both (the api asks for metadata), API tokens to the api', () => {
    const apiKeys = Object.keys(api.environment ?? {});
    const workerKeys = Object.keys(worker.environment ?? {});
    for (const key of ['HF_TOKEN', 'CIVITAI_TOKEN', 'AUTH_HEADERS', 'HF_ENDPOINT', 'CIVITAI_ENDPOINT']) {
      expect(workerKeys).toContain(key);
      expect(apiKeys).toContain(key);
    }
    for (const key of ['METADATA_TIMEOUT_MS', 'METADATA_CACHE_SECONDS']) {
      expect(apiKeys).toContain(key);
      expect(workerKeys).not.toContain(key);
    }
    for (const key of [
      'API_TOKEN',
      'API_TOKENS_READONLY',
      'METRICS_PUBLIC',
      'TRUST_PROXY',
      'RATE_LIMIT_PER_MINUTE',
      'PORT',
      'HOST',
    ]) {
      expect(apiKeys).toContain(key);
      expect(workerKeys).not.toContain(key);
    }
    for (const key of ['WORKER_CONCURRENCY', 'SEGMENTS', 'DOWNLOAD_IDLE_TIMEOUT', 'STAGING_GRACE_SECONDS'])
      expect(apiKeys).not.toContain(key);
    // Nothing reaches a container wholesale: no env_file, so a new secret in .env goes nowhere unlisted.
    for (const service of [api, worker, redis]) expect(service.env_file).toBeUndefined();
    // Every setting the service has reaches the process that reads it, except the ones this
    // layout decides: a worker's name (each replica its own) and running without a token.
    const routed = new Set([...apiKeys, ...workerKeys]);
    const unrouted = Object.keys(configSchema.shape).filter((key) => !routed.has(key));
    expect(unrouted.sort()).toEqual(['ALLOW_UNAUTHENTICATED', 'WORKER_NAME']);
  });

  it('lets the app containers write only the volume and /tmp', () => {
    for (const service of [api, worker]) {
      expect(service.read_only).toBe(true);
      expect(service.tmpfs).toEqual(['/tmp']);
    }
  });

  it('shares one named volume at /workspace/models between the api and the workers', () => {
    expect(Object.keys(compose.volumes)).toContain('models');
    for (const service of [api, worker]) {
      expect(service.volumes).toContain('models:/workspace/models');
      expect(service.environment?.MODELS_DIR).toBe('/workspace/models');
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
    }
  });

  it('starts the api and the workers once redis is healthy', () => {
    for (const service of [api, worker])
      expect(service.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
  });

  it('waits longer than SHUTDOWN_GRACE_SECONDS before killing the api or a worker', () => {
    for (const service of [api, worker]) {
      const grace = Number(service.environment?.SHUTDOWN_GRACE_SECONDS);
      expect(grace).toBeGreaterThan(0);
      expect(seconds(service.stop_grace_period!)).toBeGreaterThan(grace);
    }
  });

  it('holds no secret value: secrets are only passed on from .env', () => {
    for (const [name, service] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (SECRET_NAME.test(key) && value !== `\${${key}:-}`)
          expect.fail(`${name}.environment.${key} is set in the file; it belongs in .env, passed on as \${${key}:-}`);
      }
    }
    // Nothing that looks like a credential anywhere in the text: HF/Civitai-style tokens, long hex, user:password@.
    expect(composeText).not.toMatch(/\bhf_[A-Za-z0-9]{20,}/);
    expect(composeText).not.toMatch(/\b[0-9a-f]{32,}\b/i);
    expect(composeText).not.toMatch(/\/\/[^/\s:@]*:[^/\s@]+@/);
  });
});

describe('.env.example and the files that keep .env out of git and images', () => {
  const example = readFileSync(path.join(root, '.env.example'), 'utf8');
  const entries = example
    .split('\n')
    .map((line) => /^\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ key: m[1]!, value: m[2]!, active: !/^\s*#/.test(m.input) }));

  it('leaves every secret empty', () => {
    const secrets = entries.filter((e) => SECRET_NAME.test(e.key));
    expect(secrets.map((e) => e.key)).toEqual(
      expect.arrayContaining(['API_TOKEN', 'HF_TOKEN', 'CIVITAI_TOKEN', 'AUTH_HEADERS']),
    );
    for (const e of secrets) expect(e.value, e.key).toBe('');
    expect(entries.find((e) => e.key === 'ALLOW_UNAUTHENTICATED')).toBeUndefined();
  });

  it('names only settings the service reads or that docker-compose.yml interpolates', () => {
    const composeVariables = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    const known = new Set([...Object.keys(configSchema.shape), ...composeVariables]);
    for (const e of entries) expect(known.has(e.key), `${e.key} in .env.example`).toBe(true);
  });

  it('is ignored by git and left out of the build context', () => {
    const gitignore = readFileSync(path.join(root, '.gitignore'), 'utf8').split('\n');
    const dockerignore = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    expect(gitignore).toContain('.env');
    expect(gitignore).toContain('!.env.example');
    expect(dockerignore).toContain('.env');
    expect(dockerignore).toContain('node_modules');
  });
});
