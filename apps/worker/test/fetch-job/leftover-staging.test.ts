import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FETCH_MODEL_JOB,
  QUEUE_NAME,
  STAGING_DIR,
  createRedis,
  fetchJobData,
  loadConfig,
  type ModelRef,
} from '@model-manager/core';
import { Registry, VolumeCleanup, prepareVolume } from '@model-manager/registry';
import { stopHashThread } from '../../src/download/file-hasher.js';
import { StagingFile } from '../../src/download/staging/staging-file.js';
import { writeStagingMeta } from '../../src/download/staging/staging-meta.js';
import { createModelFetchProcessor } from '../../src/model-fetch-processor.js';
import { TestOrigin } from '../../../../test/support/origin.js';
import { dropPrefix, tempModelsDir, uniquePrefix } from '../../../../test/support/isolation.js';
import { REDIS_URL } from '../../../../test/support/redis-url.js';
import { dropVolumeKeys } from '../../../../test/support/volume-keys.js';

// A job whose retry finds the model already there (a cache hit, or the same bytes under
// another name) must not leave the earlier attempt's staging file behind in .incoming/.
const MiB = 1024 * 1024;
const origin = new TestOrigin();
const volume = tempModelsDir();
const prefix = uniquePrefix('leftover');
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
const processor = createModelFetchProcessor({
  config,
  registry,
  cleanup: VolumeCleanup.forService(config, registry, redis, logger, async () => new Set()),
  redis,
  dispatcher,
  logger,
  shutdownSignal: new AbortController().signal,
});
const queue = new Queue(QUEUE_NAME, { connection: redis, prefix });

beforeAll(async () => {
  await origin.start();
  await prepareVolume(volume.dir);
});
afterAll(async () => {
  await queue.close();
  await registry.close();
  await dropVolumeKeys(volume.dir);
  redis.disconnect();
  await dispatcher.close();
  await origin.close();
  await stopHashThread();
  await dropPrefix(prefix);
  volume.remove();
});

/** A job whose earlier attempt left a partial staging file and its metadata. */
async function jobWithLeftovers(ref: ModelRef): Promise<{ job: Job; staging: StagingFile }> {
  const job = await queue.add(FETCH_MODEL_JOB, fetchJobData(ref));
  const staging = new StagingFile(path.join(volume.dir, STAGING_DIR), StagingFile.keyFor(prefix, job.id!));
  writeFileSync(staging.partPath, Buffer.alloc(4096));
  await writeStagingMeta(staging, { url: ref.url, sourceIndex: 0, deadSources: [] }, { etag: '"x"', totalBytes: MiB });
  return { job, staging };
}

describe('a retry satisfied without downloading removes the earlier attempt’s staging file', () => {
  const file = () => origin.files.get('kept.safetensors')!;
  const ref = (): ModelRef => ({
    kind: 'lora',
    name: 'kept',
    url: `${origin.url}/files/kept.safetensors`,
    sha256: file().sha256,
  });

  it('on a cache hit', async () => {
    origin.addFile('kept.safetensors', MiB);
    await processor(await queue.add(FETCH_MODEL_JOB, fetchJobData(ref())));
    const { job, staging } = await jobWithLeftovers(ref());
    const model = await processor(job);
    expect(model).toMatchObject({ kind: 'lora', name: 'kept' });
    expect(existsSync(staging.partPath)).toBe(false);
    expect(existsSync(staging.metaPath)).toBe(false);
  });

  it('on the same content linked from another name', async () => {
    const { job, staging } = await jobWithLeftovers({ ...ref(), name: 'twin' });
    const model = await processor(job);
    expect(model).toMatchObject({ kind: 'lora', name: 'twin' });
    expect(existsSync(staging.partPath)).toBe(false);
    expect(existsSync(staging.metaPath)).toBe(false);
  });
});
