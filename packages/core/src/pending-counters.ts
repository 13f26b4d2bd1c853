import type { RedisClient } from './redis-connection.js';
import { serviceKeys } from './redis-keys.js';

/**
 * Counts kept in memory and added to the shared counters hash every second (and when flushed):
 * a Redis write per cache hit or metadata lookup would slow the hot path and large batches. Best
 * effort: a Redis hiccup keeps the counts for the next flush.
 */
export class PendingCounters {
  private pending = new Map<string, number>();
  private readonly key: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.key = serviceKeys(prefix).stats;
    this.timer = setInterval(() => void this.flush(), 1000);
    this.timer.unref();
  }

  /** Adds `n` to the counter `field` of the counters hash (field names: counters.ts). */
  add(field: string, n = 1): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + n);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = this.pending;
    this.pending = new Map();
    const multi = this.redis.multi();
    for (const [field, n] of taken) multi.hincrby(this.key, field, n);
    try {
      await multi.exec();
    } catch {
      for (const [field, n] of taken) this.add(field, n); // carried into the next flush
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
