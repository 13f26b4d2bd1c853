import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_ALLOWED_HOSTS, hostAllowed, normalHost, type NetworkPolicy } from './network-policy.js';
import { DEFAULT_CLUSTER_QUEUE_PREFIX, hashTag, parseRedisTarget, type RedisTarget } from './redis-target.js';

/** Thrown when the environment holds bad settings; the message lists every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** An http(s) origin, kept without a trailing slash so paths can be appended. */
const endpoint = (def: string) =>
  z
    .string()
    .default(def)
    .refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash;
      } catch {
        return false;
      }
    }, 'must be an http:// or https:// URL without a query, e.g. https://huggingface.co')
    .transform((value) => value.replace(/\/+$/, ''));

/** Every setting the API and the workers read, one schema for both. */
export const configSchema = z.object({
  /** One server (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://h1:p1,h2:p2`, `rediss+cluster://`). */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((v, ctx) => {
      try {
        parseRedisTarget(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]{1,64}$/, 'letters, digits, _ . - { } only, 1-64 characters')
    .default('model-manager'),
  MODELS_DIR: z.string().min(1).default('./data/models'),
  PORT: int(3000, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_CONCURRENCY: int(2, 1, 64),
  /**
   * This worker's identity in the queue (BullMQ records it as a job's `processedBy` and names the
   * worker's Redis connection after it). Unset: `<hostname>-<pid>`, distinct for every process of a fleet.
   */
  WORKER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only, 1-64 characters')
    .optional(),
  DOWNLOAD_IDLE_TIMEOUT: int(300, 1, 86_400),
  DOWNLOAD_CONNECT_TIMEOUT: int(30, 1, 600),
  DOWNLOAD_ATTEMPTS: int(6, 1, 50),
  DOWNLOAD_BACKOFF_MS: int(2000, 0, 600_000),
  SHUTDOWN_GRACE_SECONDS: int(30, 0, 3600),
  /** A worker that stops renewing a job's lock (killed) loses the job after this; another worker then resumes it. */
  JOB_LOCK_SECONDS: int(60, 2, 3600),
  /** Parallel range requests for one large file (1: one connection always). */
  SEGMENTS: int(8, 1, 32),
  /** Files at least this large are fetched in SEGMENTS parallel ranges when the origin allows. */
  SEGMENT_MIN_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(64 * 1024 * 1024),
  /** Space kept free on the volume: a download that would eat into it fails with DISK_FULL before writing. */
  MIN_FREE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(1024 ** 3),
  /** Quota on the models' total size; unset: no quota. Crossing it evicts the least valuable models. */
  CACHE_MAX_BYTES: z.coerce.number().int().min(0).optional(),
  /** Quota eviction never removes a model downloaded less than this long ago. */
  EVICTION_GRACE_SECONDS: int(3600, 0, 365 * 86_400),
  /** How long the models a /v1/prepare answer (or a leased /v1/fetch) returns are protected from removal. */
  LEASE_SECONDS: int(900, 1, 7 * 86_400),
  /** When quota eviction runs on its own (cron, 5 or 6 fields); `off` turns the schedule off. */
  CLEANUP_CRON: z.string().min(1).default('0 4 * * *'),
  /** Leftover staging files of jobs that no longer exist are deleted once this old. */
  STAGING_GRACE_SECONDS: int(3600, 1, 30 * 86_400),
  HF_TOKEN: z.string().optional(),
  CIVITAI_TOKEN: z.string().optional(),
  /** JSON object: host (or host:port) -> Authorization header value, for private mirrors. */
  AUTH_HEADERS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (!value) return {} as Record<string, string>;
      try {
        const parsed: unknown = JSON.parse(value);
        if (
          typeof parsed === 'object' &&
          parsed !== null &&
          !Array.isArray(parsed) &&
          Object.values(parsed).every((v) => typeof v === 'string')
        ) {
          return Object.fromEntries(
            Object.entries(parsed as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
          );
        }
      } catch {
        /* reported below */
      }
      ctx.addIssue({
        code: 'custom',
        message: 'must be a JSON object of host -> header value, e.g. {"mirror.local":"Bearer abc"}',
      });
      return z.NEVER;
    }),
  /** Where Hugging Face references are resolved and fetched: the public hub, or a mirror. */
  HF_ENDPOINT: endpoint('https://huggingface.co'),
  /** Where Civitai references are resolved and fetched: the public site, or a mirror. */
  CIVITAI_ENDPOINT: endpoint('https://civitai.com'),
  /** A metadata call that takes longer is given up: the download goes on unverified. */
  METADATA_TIMEOUT_MS: int(5000, 100, 120_000),
  /** How long a host's answer (SHA-256, size, file name) is kept in Redis. */
  METADATA_CACHE_SECONDS: int(3600, 0, 30 * 86_400),
  /** Refuse a download whose SHA-256 is not known before it starts (from the caller or the host). */
  REQUIRE_VERIFIED: bool(false),
  HIT_FLUSH_SECONDS: int(2, 1, 60),
  /** Hosts downloads may come from (every redirect hop too): comma-separated patterns, `*` for any. */
  ALLOWED_HOSTS: z
    .string()
    .default(DEFAULT_ALLOWED_HOSTS.join(','))
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .refine((hosts) => hosts.length > 0, 'must list at least one host pattern (or * for any)')
    .refine(
      (hosts) => hosts.every((h) => /^(\*|(\*\.)?([a-z0-9*_-]+\.)*[a-z0-9_-]+\.?|\[[0-9a-f:.]+\])$/i.test(h)),
      'host patterns look like huggingface.co, *.hf.co or * (comma-separated)',
    ),
  /** Largest model file fetched: a larger Content-Length is refused, a longer body cut off. */
  MAX_MODEL_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(64 * 1024 ** 3),
  /** Refuse pickle-based formats (.ckpt .pt .pth .bin): loading them runs code. */
  REQUIRE_SAFETENSORS: bool(false),
  /** When set, every /v1 route and the dashboard need `Authorization: Bearer <token>`. */
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Comma-separated tokens that may only read (GET) and see the dashboard. */
  API_TOKENS_READONLY: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .refine((tokens) => tokens.every((t) => t.length >= 16), 'each token must be at least 16 characters'),
  /** Requests per minute per token (per client address without API_TOKEN); unset: no limit. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).optional(),
  /** /metrics without a token. */
  METRICS_PUBLIC: bool(false),
  /** Listen on a non-loopback HOST without API_TOKEN anyway (behind your own gateway). */
  ALLOW_UNAUTHENTICATED: bool(false),
  /** Allow loopback, private, link-local and metadata addresses as download sources. */
  ALLOW_PRIVATE_NETWORKS: bool(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool(false),
});

const SECRET_KEYS = new Set(['HF_TOKEN', 'CIVITAI_TOKEN', 'AUTH_HEADERS', 'API_TOKEN', 'API_TOKENS_READONLY']);

export type RawConfig = z.infer<typeof configSchema>;
export interface Config extends RawConfig {
  /** MODELS_DIR made absolute: registry entries carry absolute paths (the format the Python module reads). */
  modelsDir: string;
  /** True when REDIS_URL was not set, so `npm start` may start a private redis-server. */
  redisUrlIsDefault: boolean;
  /** ALLOWED_HOSTS (with the hosts of HF_ENDPOINT and CIVITAI_ENDPOINT) and ALLOW_PRIVATE_NETWORKS together. */
  networkPolicy: NetworkPolicy;
  /** REDIS_URL parsed: one server or a cluster's seed nodes. */
  redis: RedisTarget;
}

/** The host patterns, plus each endpoint's host that none of them allows already. */
function withEndpointHosts(patterns: readonly string[], endpoints: readonly string[]): string[] {
  const hosts = endpoints.map((endpoint) => normalHost(new URL(endpoint).hostname));
  return [...patterns, ...new Set(hosts.filter((host) => !hostAllowed(host, patterns)))];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, the way shells and compose files often pass them.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '?');
      const shown = SECRET_KEYS.has(key) ? '(hidden)' : JSON.stringify(cleaned[key] ?? '');
      return `  ${key}=${shown}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const redis = parseRedisTarget(parsed.data.REDIS_URL);
  let prefix = parsed.data.QUEUE_PREFIX;
  if (redis.mode === 'cluster') {
    // BullMQ's scripts need every key of a queue in one slot. Left unset, the prefix gets a tag
    // of its own; one given without a tag is refused rather than silently renamed, since every
    // process sharing the queue must agree on it (and a test or a dashboard looks keys up by it).
    if (cleaned.QUEUE_PREFIX === undefined) prefix = DEFAULT_CLUSTER_QUEUE_PREFIX;
    else if (hashTag(prefix) === undefined) {
      throw new ConfigError(
        `Invalid configuration:\n  QUEUE_PREFIX=${JSON.stringify(prefix)}: with a Redis Cluster (REDIS_URL=redis+cluster://...) the prefix must ` +
          `contain a hash tag, e.g. {${prefix.replace(/[{}]/g, '')}}, so all of a queue's keys land in one slot as BullMQ requires`,
      );
    }
  }
  return {
    ...parsed.data,
    QUEUE_PREFIX: prefix,
    redis,
    modelsDir: path.resolve(parsed.data.MODELS_DIR),
    redisUrlIsDefault: cleaned.REDIS_URL === undefined,
    networkPolicy: {
      // An endpoint set explicitly is where references are fetched from: allowed without listing it.
      // The defaults (the public hosts) are not, so an ALLOWED_HOSTS that leaves them out keeps them out.
      allowedHosts: withEndpointHosts(
        parsed.data.ALLOWED_HOSTS,
        [
          cleaned.HF_ENDPOINT === undefined ? undefined : parsed.data.HF_ENDPOINT,
          cleaned.CIVITAI_ENDPOINT === undefined ? undefined : parsed.data.CIVITAI_ENDPOINT,
        ].filter((e) => e !== undefined),
      ),
      allowPrivateNetworks: parsed.data.ALLOW_PRIVATE_NETWORKS,
    },
  };
}
