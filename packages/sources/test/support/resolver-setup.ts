import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Agent } from 'undici';
import type { Logger } from '@model-manager/core';
import { SourceResolver, type SourceResolverOptions } from '../../src/index.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A logger that keeps its lines. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/**
 * Real Redis under a prefix of this test file's own, a loopback-friendly agent, and a resolver
 * factory pointed at the given endpoints; `cleanup()` deletes the file's keys.
 */
export function resolverSetup() {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `mmtest-sources-${randomBytes(6).toString('hex')}`;
  const dispatcher = new Agent();
  const log = recordingLogger();
  return {
    redis,
    prefix,
    log,
    resolver(endpoints: SourceResolverOptions['endpoints'], more: Partial<SourceResolverOptions> = {}) {
      return new SourceResolver({
        endpoints,
        auth: { hostHeaders: {}, endpoints: { hf: endpoints.hf, civitai: endpoints.civitai } },
        dispatcher,
        networkPolicy: { allowedHosts: ['127.0.0.1'], allowPrivateNetworks: true },
        redis,
        prefix,
        cacheSeconds: 60,
        timeoutMs: 300,
        requireVerified: false,
        logger: log.logger,
        ...more,
      });
    },
    async cleanup() {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await dispatcher.close();
      redis.disconnect();
    },
  };
}
