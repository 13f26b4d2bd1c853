import type { Dispatcher } from 'undici';
import type { Config, Logger, RedisClient } from '@model-manager/core';
import type { Registry, VolumeCleanup } from '@model-manager/registry';

/** What the fetch-model processor works with. */
export interface ProcessorDeps {
  config: Config;
  registry: Registry;
  /** Quota eviction, run to make room for a download that would not fit. */
  cleanup: VolumeCleanup;
  redis: RedisClient;
  dispatcher: Dispatcher;
  logger: Logger;
  /** Aborted when the worker's shutdown grace time runs out. */
  shutdownSignal: AbortSignal;
}
