import { sourceMetadataKey, type Logger, type RedisClient } from '@model-manager/core';
import { sourceMetadataSchema, type SourceMetadata } from './source-metadata.js';

/** Gives up on a Redis call after `ms`: a cache that does not answer is a miss, never a hang. */
function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Hosts' answers in Redis for `seconds` (0: not kept). The cache only saves calls: a Redis
 * failure is logged and the host is asked instead.
 */
export class MetadataCache {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly seconds: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  async get(reference: string): Promise<SourceMetadata | undefined> {
    if (this.seconds === 0) return undefined;
    try {
      const text = await bounded(this.redis.get(sourceMetadataKey(this.prefix, reference)), this.timeoutMs);
      if (text === null) return undefined;
      // Written by another version, or damaged: asked again and overwritten.
      const parsed = sourceMetadataSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, reference }, 'source metadata cache unreadable; asking the host');
      return undefined;
    }
  }

  async set(reference: string, metadata: SourceMetadata): Promise<void> {
    if (this.seconds === 0) return;
    const key = sourceMetadataKey(this.prefix, reference);
    try {
      await bounded(this.redis.set(key, JSON.stringify(metadata), 'EX', this.seconds), this.timeoutMs);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, reference }, 'source metadata not cached');
    }
  }
}
