import {
  METADATA_HOSTS,
  METADATA_RESULTS,
  type MetadataHost,
  type MetadataResult,
  type RedisClient,
  recordMetadataLookups,
} from '@model-manager/core';

/**
 * Metadata lookups counted in memory and added to the shared counters every second (and when
 * flushed): /metrics shows them for the whole deployment. Best effort: a Redis hiccup keeps the
 * counts for the next flush.
 */
export class LookupCounts {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.timer = setInterval(() => void this.flush(), 1000);
    this.timer.unref();
  }

  add(host: MetadataHost, result: MetadataResult): void {
    const key = `${host}:${result}`;
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = this.pending;
    this.pending = new Map();
    const counts = METADATA_HOSTS.flatMap((host) =>
      METADATA_RESULTS.map((result) => ({ host, result, count: taken.get(`${host}:${result}`) ?? 0 })),
    );
    try {
      await recordMetadataLookups(this.redis, this.prefix, counts);
    } catch {
      for (const [key, count] of taken) this.pending.set(key, (this.pending.get(key) ?? 0) + count);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
