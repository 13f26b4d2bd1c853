import type { Config, Logger, RedisClient } from '@model-manager/core';
import type { Registry, VolumeCleanup } from '@model-manager/registry';

/** What every maintenance job gets from the worker. */
export interface MaintenanceDeps {
  config: Config;
  registry: Registry;
  cleanup: VolumeCleanup;
  redis: RedisClient;
  logger: Logger;
  /** The worker's identity (WORKER_NAME), so its maintenance jobs and connection say which worker too. */
  workerName: string;
}
