import type { Config, Logger, RedisClient } from '@model-manager/core';
import type { Registry, VolumeCleanup } from '@model-manager/registry';
import type { CivitaiHashAnswer } from '@model-manager/sources';

/** What every maintenance job gets from the worker. */
export interface MaintenanceDeps {
  config: Config;
  registry: Registry;
  cleanup: VolumeCleanup;
  redis: RedisClient;
  logger: Logger;
  /** The worker's identity (WORKER_NAME), so its maintenance jobs and connection say which worker too. */
  workerName: string;
  /** Where Civitai says a file with this SHA-256 comes from (scan asks it of the files it adopts). */
  lookUpOrigin: (sha256: string) => Promise<CivitaiHashAnswer>;
}
