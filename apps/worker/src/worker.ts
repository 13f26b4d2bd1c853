import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Queue, Worker } from 'bullmq';
import {
  MAINTENANCE_QUEUE,
  QUEUE_NAME,
  connectionLog,
  createRedis,
  inFlightModels,
  type Config,
  type Logger,
  type RedisClient,
} from '@model-manager/core';
import { Registry, VolumeCleanup } from '@model-manager/registry';
import { civitaiByHash, createDownloadAgent, metadataSetupFromConfig } from '@model-manager/sources';
import { backoffDelay } from './fetch-job/job-errors.js';
import { createModelFetchProcessor } from './model-fetch-processor.js';
import { scheduleCleanup } from './maintenance/cleanup-schedule.js';
import { createMaintenanceWorker } from './maintenance/maintenance-worker.js';
import { StagingSweeper } from './staging-sweeper.js';
import { hashOnThread } from './download/file-hasher.js';

export interface ModelFetchWorker {
  worker: Worker;
  /** WORKER_NAME, or `<hostname>-<pid>`: which worker ran a job (its `processedBy`). */
  name: string;
  /**
   * Stops taking jobs, lets active downloads finish within `graceMs`, then cuts them off
   * (they go back to the queue) and closes every connection.
   */
  close(graceMs?: number): Promise<void>;
  /** Both workers (downloads, maintenance) connected and taking jobs. */
  waitUntilReady(): Promise<void>;
}

/** A BullMQ worker for the `model-fetch` queue with WORKER_CONCURRENCY downloads at a time. */
export function createModelFetchWorker(config: Config, logger: Logger): ModelFetchWorker {
  // Pods of a fleet often share a hostname pattern and pid 1 is common in containers, but never both.
  const name = config.WORKER_NAME ?? `${hostname()}-${process.pid}`;
  // Named after the worker too, so `CLIENT LIST` tells the workers of a fleet apart.
  const redis: RedisClient = createRedis(config.REDIS_URL, 'worker', config.QUEUE_PREFIX, {
    connectionName: `${config.QUEUE_PREFIX}:model-manager-worker:${name}`,
  });
  const onError = connectionLog(redis, logger);
  redis.on('error', onError('redis'));
  // Hashes of entries a registry rebuild left pending are computed on the hashing thread.
  const registry = Registry.forService(config, redis, logger, {
    hashFile: async (file) => hashOnThread(file, (await stat(file)).size),
  });
  const dispatcher = createDownloadAgent({
    connectTimeoutMs: config.DOWNLOAD_CONNECT_TIMEOUT * 1000,
    idleTimeoutMs: config.DOWNLOAD_IDLE_TIMEOUT * 1000,
    allowPrivateNetworks: config.ALLOW_PRIVATE_NETWORKS,
  });
  const shutdown = new AbortController();
  // Which models have a fetch queued or running: eviction leaves those alone.
  const fetchQueue = new Queue(QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  // Without a listener BullMQ prints each of its connection errors to stderr as a bare stack.
  fetchQueue.on('error', onError('queue'));
  const cleanup = VolumeCleanup.forService(config, registry, redis, logger, () => inFlightModels(fetchQueue));
  const processor = createModelFetchProcessor({
    config,
    registry,
    cleanup,
    redis,
    dispatcher,
    logger,
    shutdownSignal: shutdown.signal,
  });
  const worker = new Worker(QUEUE_NAME, processor, {
    name,
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    // Renewed while the job runs; a killed worker's job is picked up again within about this long.
    lockDuration: config.JOB_LOCK_SECONDS * 1000,
    stalledInterval: Math.max(1000, (config.JOB_LOCK_SECONDS * 1000) / 2),
    // A job whose worker dies this many times (pods reclaimed, out of memory) fails as STALLED.
    maxStalledCount: 3,
    // The job carries the base delay the API was configured with.
    settings: {
      backoffStrategy: (attemptsMade, _type, err, job) =>
        backoffDelay(
          job?.opts.backoff && typeof job.opts.backoff === 'object'
            ? (job.opts.backoff.delay ?? config.DOWNLOAD_BACKOFF_MS)
            : config.DOWNLOAD_BACKOFF_MS,
          attemptsMade,
          err,
        ),
    },
  });
  // A job whose lock could not be renewed may already run elsewhere: stop writing its file now.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const id of jobIds) worker.cancelJob(id, 'lock lost');
  });
  // Scan asks Civitai where the files it adopts come from, as the API asks of references.
  const metadata = metadataSetupFromConfig(config);
  const maintenance = createMaintenanceWorker({
    config,
    registry,
    cleanup,
    redis,
    logger,
    workerName: name,
    lookUpOrigin: (sha256) => civitaiByHash(sha256, metadata.endpoints, metadata.client),
  });
  const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
  maintenanceQueue.on('error', onError('maintenance queue'));
  void scheduleCleanup(maintenanceQueue, config, logger).catch((err: unknown) =>
    logger.error(
      { err: (err as Error).message, cron: config.CLEANUP_CRON },
      'could not register the scheduled cleanup (is CLEANUP_CRON a valid cron pattern?)',
    ),
  );
  const sweeper = new StagingSweeper(config, redis, logger);
  sweeper.start();
  worker.on('error', onError('worker'));
  maintenance.on('error', onError('maintenance worker'));
  // Entries a registry rebuild left unhashed (if the process that rebuilt it died) get hashed here.
  void registry.fillPendingHashes();
  worker.on('failed', (job, err) => {
    if (job && err.name !== 'WaitingError') logger.debug({ jobId: job.id, reason: err.message }, 'job attempt failed');
  });

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000) => {
    closing ??= (async () => {
      const graceful = Promise.all([worker.close(), maintenance.close()]);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn({ graceMs }, 'shutdown grace time is over: cutting off active downloads');
        shutdown.abort();
        await graceful;
      }
      await sweeper.stop();
      await fetchQueue.close().catch(() => {});
      await maintenanceQueue.close().catch(() => {});
      await registry.close();
      await dispatcher.close().catch(() => {});
      await metadata.close().catch(() => {});
      await redis.quit().catch(() => redis.disconnect());
    })();
    return closing;
  };
  const waitUntilReady = async () => {
    await Promise.all([worker.waitUntilReady(), maintenance.waitUntilReady()]);
  };
  return { worker, name, close, waitUntilReady };
}
