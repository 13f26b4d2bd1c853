import { Queue, QueueEvents } from 'bullmq';
import {
  MAINTENANCE_QUEUE,
  QUEUE_NAME,
  connectionLog,
  createRedis,
  inFlightModels,
  queueEventsConnection,
  type Config,
  type Logger,
  type RedisClient,
} from '@model-manager/core';
import { ModelLeases, Registry, VolumeCleanup } from '@model-manager/registry';
import { SourceResolver } from '@model-manager/sources';
import { BatchStore } from './services/batch-store.js';
import { FetchService } from './services/fetch-service.js';
import { JobEventHub } from './services/job-events.js';
import { JobWaiter } from './services/job-waiter.js';
import { MaintenanceJobs } from './services/maintenance-jobs.js';

/** Everything the routes use; built once per API process, closed once at shutdown. */
export interface ServiceContext {
  config: Config;
  logger: Logger;
  redis: RedisClient;
  queue: Queue;
  /** Cleanup, verify and scan jobs (see MAINTENANCE_QUEUE). */
  maintenanceQueue: Queue;
  /** Adds and shows maintenance jobs; `maintenanceWaiter` waits for them (one QueueEvents for that queue). */
  maintenanceJobs: MaintenanceJobs;
  maintenanceEvents: QueueEvents;
  maintenanceWaiter: JobWaiter;
  registry: Registry;
  /** Leases on models in use (prepare, fetch with `lease: true`), which cleanup never removes. */
  leases: ModelLeases;
  /** Age cleanup and quota eviction. */
  cleanup: VolumeCleanup;
  /** Hugging Face and Civitai references resolved to SHA-256, size and file name before queueing. */
  sources: SourceResolver;
  fetches: FetchService;
  batches: BatchStore;
  waiter: JobWaiter;
  /** Job progress and completion for event streams (SSE), from the one QueueEvents above. */
  events: JobEventHub;
  close(): Promise<void>;
}

export async function createServiceContext(config: Config, logger: Logger): Promise<ServiceContext> {
  const redis = createRedis(config.REDIS_URL, 'queue', config.QUEUE_PREFIX);
  const onError = connectionLog(redis, logger);
  redis.on('error', onError('redis'));
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  queue.on('error', onError('queue'));
  const maintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
  maintenanceQueue.on('error', onError('maintenance queue'));
  // Each QueueEvents blocks on a connection of its own (a cluster client's duplicate on a cluster).
  const eventsConnection = queueEventsConnection(config.REDIS_URL, config.QUEUE_PREFIX, 'model-manager-events');
  const queueEvents = new QueueEvents(QUEUE_NAME, {
    connection: eventsConnection.connection,
    prefix: config.QUEUE_PREFIX,
  });
  queueEvents.on('error', onError('queue events'));
  const maintenanceEventsConnection = queueEventsConnection(
    config.REDIS_URL,
    config.QUEUE_PREFIX,
    'model-manager-maintenance-events',
  );
  const maintenanceEvents = new QueueEvents(MAINTENANCE_QUEUE, {
    connection: maintenanceEventsConnection.connection,
    prefix: config.QUEUE_PREFIX,
  });
  maintenanceEvents.on('error', onError('maintenance queue events'));
  // The hot path stats the registry file at most once a second; a finished job (whose worker has
  // just written the registry) makes the next read look again, so answers never lag a job.
  const registry = Registry.forService(config, redis, logger, { recheckMs: 1000 });
  queueEvents.on('completed', () => registry.invalidate());
  queueEvents.on('failed', () => registry.invalidate());
  const fetches = new FetchService(config, queue, registry, redis);
  const sources = SourceResolver.fromConfig(config, redis, logger);
  const leases = new ModelLeases(redis, config.modelsDir, config.LEASE_SECONDS);
  const cleanup = VolumeCleanup.forService(config, registry, redis, logger, () => inFlightModels(queue));
  const waiter = new JobWaiter(queue, queueEvents);
  // Verify, scan and cleanup rewrite the registry too.
  maintenanceEvents.on('completed', () => registry.invalidate());
  const maintenanceWaiter = new JobWaiter(maintenanceQueue, maintenanceEvents);
  const maintenanceJobs = new MaintenanceJobs(maintenanceQueue, registry);
  const events = new JobEventHub(queueEvents);
  const batches = new BatchStore(config, redis, queue, registry, fetches);
  await Promise.all([
    queue.waitUntilReady(),
    maintenanceQueue.waitUntilReady(),
    queueEvents.waitUntilReady(),
    maintenanceEvents.waitUntilReady(),
  ]);

  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    redis,
    queue,
    maintenanceQueue,
    maintenanceJobs,
    maintenanceEvents,
    maintenanceWaiter,
    registry,
    leases,
    cleanup,
    sources,
    fetches,
    batches,
    waiter,
    events,
    close() {
      closing ??= (async () => {
        waiter.close();
        maintenanceWaiter.close();
        events.close();
        await fetches.close(); // hit and miss counters
        await sources.close();
        await registry.close(); // writes batched cache hits
        await queueEvents.close().catch(() => {});
        await maintenanceEvents.close().catch(() => {});
        eventsConnection.close();
        maintenanceEventsConnection.close();
        await queue.close().catch(() => {});
        await maintenanceQueue.close().catch(() => {});
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
