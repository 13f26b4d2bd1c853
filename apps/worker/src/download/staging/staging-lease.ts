import { randomBytes } from 'node:crypto';
import { ModelFetchError, type RedisClient } from '@model-manager/core';
import { EXTEND_IF_OWNER, RELEASE_IF_OWNER } from '@model-manager/registry';

// Take the lease only while the BullMQ job lock is ours (KEYS[2] holds the job token).
const ACQUIRE = `
if redis.call('get', KEYS[2]) ~= ARGV[3] then return -1 end
if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`;
// Renew only while both the lease and the job lock are still ours.
const RENEW = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('get', KEYS[2]) ~= ARGV[3] then redis.call('del', KEYS[1]) return -1 end
return redis.call('pexpire', KEYS[1], ARGV[2])`;
// On a cluster the lease (a volume key) and the job lock (a queue key) live in different slots,
// so no script may touch both: the job lock is read first, then the lease alone is changed.
// The lease still fences the file (only its holder writes, and it outlives the holder's local
// validity); the job lock, read a moment earlier, only decides whether to keep holding it.
const ACQUIRE_ALONE = `if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`;

/**
 * Fencing for a staging file: the only writer is the holder of this lease, and the lease is
 * renewed only while the holder still owns the BullMQ job lock. A worker that loses the job
 * (stalled and handed over) or loses Redis stops writing when its lease runs out locally,
 * before the lease can expire in Redis and the next worker can take it.
 */
export class StagingLease {
  private readonly token = randomBytes(12).toString('hex');
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private lost: string | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly jobLockKey: string,
    private readonly jobToken: string,
    private readonly ttlMs = 30_000,
  ) {}

  /** Waits (up to a lease lifetime and a bit) for a previous holder's lease to end. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.ttlMs * 2;
    for (;;) {
      const sentAt = Date.now();
      const result = await this.acquireOnce();
      if (result === 1) {
        this.validUntil = sentAt + this.ttlMs * 0.8;
        this.timer = setInterval(() => void this.renew(), Math.floor(this.ttlMs / 4));
        this.timer.unref();
        return;
      }
      if (result === -1)
        throw new ModelFetchError('LOCK_LOST', 'this worker no longer holds the job', { retryable: true });
      if (signal?.aborted) {
        const reason = signal.reason as unknown;
        throw reason instanceof ModelFetchError
          ? reason
          : new ModelFetchError('SHUTDOWN', 'stopped while waiting for the staging file', { retryable: true });
      }
      if (Date.now() > deadline)
        throw new ModelFetchError('LOCK_LOST', 'another worker is still writing this staging file', {
          retryable: true,
        });
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async renew(): Promise<void> {
    const sentAt = Date.now();
    try {
      const result = await this.renewOnce();
      if (result === 1) this.validUntil = sentAt + this.ttlMs * 0.8;
      else this.lost = result === -1 ? 'the job lock passed to another worker' : 'the staging lease expired';
    } catch {
      /* Redis hiccup: validUntil runs out on its own if it lasts */
    }
  }

  /** ACQUIRE or RENEW, which take the same keys and arguments (outside a cluster only: see ACQUIRE_ALONE). */
  private async evalWithJobLock(script: string): Promise<number> {
    return (await this.redis.eval(
      script,
      2,
      this.key,
      this.jobLockKey,
      this.token,
      String(this.ttlMs),
      this.jobToken,
    )) as number;
  }

  /** 1: taken; 0: another holder has it; -1: the job lock is not ours. */
  private async acquireOnce(): Promise<number> {
    if (!this.redis.isCluster) return this.evalWithJobLock(ACQUIRE);
    if ((await this.redis.get(this.jobLockKey)) !== this.jobToken) return -1;
    return (await this.redis.eval(ACQUIRE_ALONE, 1, this.key, this.token, String(this.ttlMs))) as number;
  }

  /** 1: renewed; 0: the lease is gone; -1: the job lock passed on (the lease is given up). */
  private async renewOnce(): Promise<number> {
    if (!this.redis.isCluster) return this.evalWithJobLock(RENEW);
    if ((await this.redis.get(this.jobLockKey)) !== this.jobToken) {
      await this.redis.eval(RELEASE_IF_OWNER, 1, this.key, this.token);
      return -1;
    }
    return (await this.redis.eval(EXTEND_IF_OWNER, 1, this.key, this.token, String(this.ttlMs))) as number;
  }

  /** Asks Redis (not the local clock) whether the lease and the job lock are still ours: checked right before publishing. */
  async confirm(): Promise<void> {
    const [lease, job] = await Promise.all([this.redis.get(this.key), this.redis.get(this.jobLockKey)]);
    if (lease !== this.token || job !== this.jobToken) {
      this.lost = 'the job passed to another worker before publishing';
      throw new ModelFetchError('LOCK_LOST', `not publishing: ${this.lost}`, { retryable: true });
    }
    this.assertValid();
  }

  /** Throws when writing must stop: checked before every write. */
  assertValid(): void {
    if (this.lost) throw new ModelFetchError('LOCK_LOST', `stopped writing: ${this.lost}`, { retryable: true });
    if (Date.now() >= this.validUntil)
      throw new ModelFetchError('LOCK_LOST', 'stopped writing: the staging lease could not be renewed', {
        retryable: true,
      });
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.eval(RELEASE_IF_OWNER, 1, this.key, this.token).catch(() => {});
  }
}
