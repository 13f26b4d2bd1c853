import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import type { Logger } from '@model-manager/core';
import { SourceResolver, type SourceResolverOptions } from '../../src/index.js';
import { fakeCivitai } from './fake-civitai.js';
import { fakeHf } from './fake-hf.js';

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

/** A port on loopback that nothing answers on: a host that cannot be reached. */
const UNREACHABLE = 'http://127.0.0.1:1';

/**
 * Real Redis under a prefix of this test file's own, a loopback-friendly agent, a fake Civitai
 * and a fake Hub (with `{ hub: false }`, a Hub that cannot be reached), and a resolver factory.
 * The fakes start before the file's tests, setting `endpoints`; after them they close and the
 * file's keys are deleted.
 */
export function resolverSetup(options: { hub?: boolean } = {}) {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `mmtest-sources-${randomBytes(6).toString('hex')}`;
  const dispatcher = new Agent();
  const log = recordingLogger();
  const civitai = fakeCivitai();
  const hf = fakeHf();
  const hub = options.hub ?? true;
  const endpoints = { hf: UNREACHABLE, civitai: '' };
  beforeAll(async () => {
    await civitai.start();
    endpoints.civitai = civitai.origin;
    if (hub) {
      await hf.start();
      endpoints.hf = hf.origin;
    }
  });
  afterAll(async () => {
    await Promise.all([civitai.close(), hf.close()]);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await dispatcher.close();
    redis.disconnect();
  });
  return {
    redis,
    prefix,
    log,
    civitai,
    hf,
    endpoints,
    /** CIVITAI_TOKEN and HF_TOKEN set, for the endpoints. */
    tokens: () => ({ hfToken: 'hf_secret', civitaiToken: 'civ_secret', hostHeaders: {}, endpoints }),
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
  };
}
