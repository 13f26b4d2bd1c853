import { randomUUID } from 'node:crypto';
import { modelKey, volumeKeys, type ModelKind, type RedisClient } from '@model-manager/core';
import { volumeId } from './volume.js';

export interface ModelLease {
  leaseId: string;
  expiresAt: string;
  models: Array<{ kind: ModelKind; name: string }>;
}

// KEYS: lease, index, evicting. ARGV: value, ttlMs, expiresAtMs, nowMs, leaseId, modelKey...
// Returns the leased models that an eviction is deleting at this very moment.
const CREATE = `
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('zremrangebyscore', KEYS[2], '-inf', ARGV[4])
local busy = {}
for i = 6, #ARGV do
  redis.call('zadd', KEYS[2], ARGV[3], ARGV[5] .. '|' .. ARGV[i])
  local till = redis.call('hget', KEYS[3], ARGV[i])
  if till and tonumber(till) > tonumber(ARGV[4]) then busy[#busy + 1] = ARGV[i] end
end
return busy`;

// KEYS: lease, index. ARGV: ttlMs, expiresAtMs, leaseId. Returns the lease's value, or nil when gone.
const EXTEND = `
local v = redis.call('get', KEYS[1])
if not v then return false end
redis.call('pexpire', KEYS[1], ARGV[1])
for _, m in ipairs(cjson.decode(v).models) do redis.call('zadd', KEYS[2], ARGV[2], ARGV[3] .. '|' .. m) end
return v`;

// KEYS: lease, index. ARGV: leaseId. Returns 1 when the lease existed.
const RELEASE = `
local v = redis.call('get', KEYS[1])
if not v then return 0 end
redis.call('del', KEYS[1])
for _, m in ipairs(cjson.decode(v).models) do redis.call('zrem', KEYS[2], ARGV[1] .. '|' .. m) end
return 1`;

// KEYS: index, evicting. ARGV: nowMs, untilMs, modelKey... Marks the models as being deleted
// unless one of them is leased; returns the leased ones (then nothing is marked).
const MARK_EVICTING = `
local leased = {}
for _, m in ipairs(redis.call('zrangebyscore', KEYS[1], '(' .. ARGV[1], '+inf')) do
  leased[string.sub(m, string.find(m, '|', 1, true) + 1)] = true
end
local busy = {}
for i = 3, #ARGV do if leased[ARGV[i]] then busy[#busy + 1] = ARGV[i] end end
if #busy == 0 then
  for i = 3, #ARGV do redis.call('hset', KEYS[2], ARGV[i], ARGV[2]) end
end
return busy`;

/** Longest an eviction's "being deleted" mark can outlive a crashed evictor. */
const EVICTING_MARK_MS = 60_000;

/**
 * Leases on models in use: while a lease lives, cleanup and quota eviction leave its models
 * alone. Volume-wide (keyed by the volume id like the registry lease), so every API and worker
 * sharing the volume sees them whatever its QUEUE_PREFIX. A lease is a key with a TTL plus
 * index members scored by expiry, so an expired lease simply stops counting.
 *
 * Race with eviction: a lease is written before its models are looked up, and an eviction marks
 * what it deletes in the same Redis script that checks for leases. So either the eviction sees
 * the lease and keeps the model, or the lease sees the mark and its taker waits for the deletion
 * to finish and then finds the model gone (and fetches it again).
 */
export class ModelLeases {
  private keysOf: Promise<ReturnType<typeof volumeKeys>> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly modelsDir: string,
    private readonly defaultSeconds: number,
  ) {}

  private keys() {
    // Create, extend and release touch the lease, the index and the eviction marks in one
    // script: on a cluster the volume id is their hash tag, so all three share a slot.
    this.keysOf ??= volumeId(this.modelsDir).then((volume) => volumeKeys(volume, this.redis.isCluster));
    return this.keysOf;
  }

  /**
   * Leases the models. Call it before looking the models up: when an eviction is deleting one of
   * them at this moment, it returns once that deletion is over, so the lookup sees it gone.
   */
  async create(
    models: ReadonlyArray<{ kind: ModelKind; name: string }>,
    seconds = this.defaultSeconds,
  ): Promise<ModelLease> {
    const k = await this.keys();
    const leaseId = randomUUID();
    const now = Date.now();
    const expires = now + seconds * 1000;
    const unique = [...new Map(models.map((m) => [modelKey(m.kind, m.name), { kind: m.kind, name: m.name }])).values()];
    const memberKeys = unique.map((m) => modelKey(m.kind, m.name));
    const evicting = (await this.redis.eval(
      CREATE,
      3,
      k.modelLease(leaseId),
      k.modelLeaseIndex,
      k.evicting,
      JSON.stringify({ models: memberKeys }),
      String(seconds * 1000),
      String(expires),
      String(now),
      leaseId,
      ...memberKeys,
    )) as string[];
    await this.waitWhileEvicting(evicting);
    return { leaseId, expiresAt: new Date(expires).toISOString(), models: unique };
  }

  /** Extends a live lease to `seconds` from now; null when it is unknown or has expired. */
  async extend(leaseId: string, seconds = this.defaultSeconds): Promise<ModelLease | null> {
    const k = await this.keys();
    const expires = Date.now() + seconds * 1000;
    const ttl = [String(seconds * 1000), String(expires), leaseId];
    const value = (await this.redis.eval(EXTEND, 2, k.modelLease(leaseId), k.modelLeaseIndex, ...ttl)) as string | null;
    if (!value) return null;
    const models = (JSON.parse(value) as { models: string[] }).models.map((key) => {
      const slash = key.indexOf('/');
      return { kind: key.slice(0, slash) as ModelKind, name: key.slice(slash + 1) };
    });
    return { leaseId, expiresAt: new Date(expires).toISOString(), models };
  }

  /** Ends a lease; false when it was unknown or had expired. */
  async release(leaseId: string): Promise<boolean> {
    const k = await this.keys();
    return (await this.redis.eval(RELEASE, 2, k.modelLease(leaseId), k.modelLeaseIndex, leaseId)) === 1;
  }

  /** `kind/name` of every model under a live lease. */
  async leased(): Promise<Set<string>> {
    const k = await this.keys();
    const members = await this.redis.zrangebyscore(k.modelLeaseIndex, `(${Date.now()}`, '+inf');
    return new Set(members.map((m) => m.slice(m.indexOf('|') + 1)));
  }

  /** Marks models as being deleted, atomically with a last look at the leases; returns those leased meanwhile (nothing marked then). */
  async markEvicting(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const k = await this.keys();
    const now = Date.now();
    const window = [String(now), String(now + EVICTING_MARK_MS)];
    return (await this.redis.eval(MARK_EVICTING, 2, k.modelLeaseIndex, k.evicting, ...window, ...keys)) as string[];
  }

  async unmarkEvicting(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const k = await this.keys();
    await this.redis.hdel(k.evicting, ...keys);
  }

  /** Waits until no eviction is deleting any of these models (the mark is gone or stale). */
  async waitWhileEvicting(keys: readonly string[], timeoutMs = EVICTING_MARK_MS): Promise<void> {
    if (keys.length === 0) return;
    const k = await this.keys();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const marks = await this.redis.hmget(k.evicting, ...keys);
      if (marks.every((m) => m === null || Number(m) <= Date.now())) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
