import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import {
  ModelFetchError,
  STAGING_DIR,
  fetchModelJobSchema,
  modelFilePath,
  nowSeconds,
  pickExtension,
  serviceKeys,
  type Config,
  type Logger,
  type Model,
} from '@model-manager/core';
import { Registry, sectionOf, syncDir, toModel, type RegistryEntry } from '@model-manager/registry';
import { downloadToFile } from './download/http-download.js';

export interface ProcessorDeps {
  config: Config;
  registry: Registry;
  redis: Redis;
  dispatcher: Dispatcher;
  logger: Logger;
  /** Aborted when the worker's shutdown grace time runs out. */
  shutdownSignal: AbortSignal;
}

/** The BullMQ processor for `fetch-model` jobs: download, verify, publish, register. */
export function createModelFetchProcessor(deps: ProcessorDeps) {
  const { config, registry, redis, logger: rootLogger } = deps;
  const keys = serviceKeys(config.QUEUE_PREFIX);

  return async function processFetchModel(job: Job, token?: string, jobSignal?: AbortSignal): Promise<Model> {
    const log = rootLogger.child({ jobId: job.id });
    const parsed = fetchModelJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`INVALID_JOB: job data does not match the fetch-model schema: ${parsed.error.message}`);
    }
    const ref = parsed.data;
    const jobLog = log.child({ model: `${ref.kind}/${ref.name}` });

    // Finished by an earlier job (or present already): a hit, no download and no re-hash.
    let cached = await registry.check(ref.kind, ref.name, ref.sha256);
    if (!cached.hit && cached.reason === 'hash-pending') {
      // Found by a registry rebuild and not hashed yet: hashing the local copy beats downloading it.
      await registry.fillHash(ref.kind, ref.name);
      cached = await registry.check(ref.kind, ref.name, ref.sha256);
    }
    if (cached.hit) {
      jobLog.info('already on the volume; nothing to download');
      return cached.model;
    }

    const signal = jobSignal ? AbortSignal.any([jobSignal, deps.shutdownSignal]) : deps.shutdownSignal;
    const staging = path.join(
      config.modelsDir,
      STAGING_DIR,
      `${config.QUEUE_PREFIX.replace(/[^A-Za-z0-9_.-]/g, '_')}.${job.id}.${randomBytes(4).toString('hex')}.part`,
    );
    const started = Date.now();
    jobLog.info({ url: ref.url, attempt: job.attemptsMade + 1 }, 'download started');
    try {
      const result = await downloadToFile({
        url: ref.url,
        destination: staging,
        expectedSha256: ref.sha256,
        dispatcher: deps.dispatcher,
        signal,
        logger: jobLog,
        onProgress: (p) => {
          void job.updateProgress({ bytes: p.bytes, totalBytes: p.totalBytes, bytesPerSec: p.bytesPerSec }).catch(() => {});
        },
      });
      const ext = pickExtension([result.finalUrl, ref.url], result.contentDisposition);
      const finalPath = modelFilePath(config.modelsDir, ref.kind, ref.name, ext);
      const now = nowSeconds();
      const entry: RegistryEntry = {
        url: ref.url,
        path: finalPath,
        hash: result.sha256,
        downloaded_at: now,
        last_used: now,
        usage_count: 0,
        file_size: result.bytes,
      };
      // Publish and register under the registry lease, so no reader sees one without the other.
      await registry.update(async (data, held) => {
        const section = data[sectionOf(ref.kind)];
        const previous = section[ref.name];
        await held.assertHeld();
        await rename(staging, finalPath);
        await syncDir(path.dirname(finalPath));
        if (previous && typeof previous.path === 'string') {
          const old = registry.localPath(ref.kind, previous as RegistryEntry);
          if (old && old !== finalPath) await rm(old, { force: true });
          entry.usage_count = typeof previous.usage_count === 'number' ? previous.usage_count : 0;
        }
        section[ref.name] = entry;
      });
      await redis
        .multi()
        .hincrby(keys.stats, 'downloads_succeeded', 1)
        .hincrby(keys.stats, 'downloads_bytes', result.bytes)
        .exec()
        .catch(() => {});
      jobLog.info(
        { bytes: result.bytes, seconds: (Date.now() - started) / 1000, path: finalPath, url: result.finalUrl },
        'download completed',
      );
      return toModel(ref.kind, ref.name, entry, finalPath);
    } catch (err) {
      await rm(staging, { force: true }).catch(() => {});
      const failure =
        err instanceof ModelFetchError
          ? err
          : new ModelFetchError('INTERNAL', (err as Error)?.message ?? String(err), true);
      if (failure.code === 'SHUTDOWN' && token) {
        // Cut off by shutdown: back to the queue without spending an attempt; it starts again later.
        jobLog.warn('download cut off by shutdown; job returned to the queue');
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const attempts = job.opts.attempts ?? 1;
      const final = !failure.retryable || job.attemptsMade + 1 >= attempts;
      jobLog[final ? 'error' : 'warn'](
        { code: failure.code, status: failure.status, attempt: job.attemptsMade + 1, of: attempts, url: ref.url },
        `download failed: ${failure.message}`,
      );
      if (final) await redis.hincrby(keys.stats, 'downloads_failed', 1).catch(() => {});
      if (!failure.retryable) throw new UnrecoverableError(failure.toReason());
      throw new Error(failure.toReason());
    }
  };
}
