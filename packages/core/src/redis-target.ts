/**
 * Where Redis is: one server (`redis://`, `rediss://`) or a Redis Cluster
 * (`redis+cluster://[user:password@]host1:port1,host2:port2[,...]`, `rediss+cluster://` for TLS).
 * One variable for both, so every deployment tool that already sets REDIS_URL keeps working.
 */
export type RedisTarget =
  | { mode: 'single'; url: string }
  | {
      mode: 'cluster';
      /** Seed nodes: ioredis asks them for the slot map and finds the other masters itself. */
      nodes: Array<{ host: string; port: number }>;
      username?: string;
      password?: string;
      tls: boolean;
    };

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//i;

/** Parses REDIS_URL; throws an Error whose message says what is wrong (the config loader shows it). */
export function parseRedisTarget(url: string): RedisTarget {
  const scheme = CLUSTER_SCHEME.exec(url);
  if (!scheme) {
    if (!/^rediss?:\/\//i.test(url))
      throw new Error('must start with redis://, rediss://, redis+cluster:// or rediss+cluster://');
    return { mode: 'single', url };
  }
  let rest = url.slice(scheme[0].length).replace(/\/+$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : '');
    const pass = decodeURIComponent(colon >= 0 ? auth.slice(colon + 1) : auth);
    if (user) username = user;
    if (pass) password = pass;
  }
  if (rest.includes('/') || rest.includes('?')) {
    // A cluster has no databases but 0, and options are not read from the URL: say so rather than ignore them.
    throw new Error(
      'a cluster URL lists host:port seeds only (no /db, no ?options): redis+cluster://host1:port1,host2:port2',
    );
  }
  const seeds = rest
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (seeds.length === 0) throw new Error('names no seed node: redis+cluster://host1:port1,host2:port2');
  const nodes = seeds.map((seed) => {
    // host:port, [ipv6]:port
    const match = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/i.exec(seed);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535)
      throw new Error(`seed "${seed}" is not host:port (port 1-65535): redis+cluster://host1:port1,host2:port2`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  return { mode: 'cluster', nodes, username, password, tls: scheme[1]!.toLowerCase() === 'rediss' };
}

/**
 * The hash tag Redis Cluster hashes a key by: the text between the first `{` and the first `}`
 * after it, when not empty. Undefined when the key has none (then the whole key is hashed).
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

/**
 * BullMQ's Lua scripts touch many keys of a queue at once (`<prefix>:<queue>:wait`, `:active`,
 * `:<jobId>`...), and a cluster runs a script only when all of them hash to one slot: so the
 * prefix must carry a hash tag. Our own keys start with the prefix too, so they land in the same
 * slot and can share MULTI blocks and pipelines with the queue's keys.
 */
export const DEFAULT_CLUSTER_QUEUE_PREFIX = '{model-manager}';
