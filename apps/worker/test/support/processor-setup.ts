import { Queue, type Job } from 'bullmq';
import { pino } from 'pino';
import { Agent } from 'undici';
import {
  FETCH_MODEL_JOB,
  QUEUE_NAME,
  createRedis,
  loadConfig,
  type Config,
  type FetchModelJobData,
} from '@model-manager/core';
import { Registry, VolumeCleanup, prepareVolume } from '@model-manager/registry';
import { stopHashThread } from '../../src/download/file-hasher.js';
import { createModelFetchProcessor } from '../../src/model-fetch-processor.js';
import { dropPrefix, tempModelsDir, uniquePrefix } from '../../../../test/support/isolation.js';
import { TestOrigin } from '../../../../test/support/origin.js';
import { REDIS_URL } from '../../../../test/support/redis-url.js';
import { dropVolumeKeys } from '../../../../test/support/volume-keys.js';

/**
 * The fetch-model processor of one test file, driven directly on jobs of a real queue (real
 * Redis, an in-process origin, a volume of its own). `processor(settings)` builds one with some
 * settings changed; `logs(job)` reads the lines the job's log shows its users.
 */
export function processorSetup(label: string) {
  const origin = new TestOrigin();
  const volume = tempModelsDir();
  const prefix = uniquePrefix(label);
  const config = loadConfig({
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    MODELS_DIR: volume.dir,
    MIN_FREE_BYTES: '0',
    ALLOWED_HOSTS: '*',
    ALLOW_PRIVATE_NETWORKS: 'true',
  });
  const redis = createRedis(REDIS_URL, 'worker', prefix);
  const logger = pino({ level: 'silent' });
  const registry = Registry.forService(config, redis, logger);
  const dispatcher = new Agent();
  const cleanup = VolumeCleanup.forService(config, registry, redis, logger, async () => new Set());
  // The processor's job.log shares this connection, so a read after a job sees all its lines.
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix });
  return {
    origin,
    prefix,
    config,
    registry,
    queue,
    start: async () => {
      await origin.start();
      await prepareVolume(volume.dir);
    },
    stop: async () => {
      await queue.close();
      await registry.close();
      await dropVolumeKeys(volume.dir);
      redis.disconnect();
      await dispatcher.close();
      await origin.close();
      await stopHashThread();
      await dropPrefix(prefix);
      volume.remove();
    },
    processor: (settings: Partial<Config> = {}) =>
      createModelFetchProcessor({
        config: { ...config, ...settings },
        registry,
        cleanup,
        redis,
        dispatcher,
        logger,
        shutdownSignal: new AbortController().signal,
      }),
    addJob: (data: Omit<FetchModelJobData, 'requestedAt'>): Promise<Job> =>
      queue.add(FETCH_MODEL_JOB, { requestedAt: Date.now(), ...data }),
    logs: async (job: Job): Promise<string[]> => (await queue.getJobLogs(job.id!)).logs,
  };
}
