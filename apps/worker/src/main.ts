#!/usr/bin/env node
import {
  ConfigError,
  createLogger,
  exitWhenClosed,
  flushLogger,
  loadConfig,
  stopWhenParentExits,
} from '@model-manager/core';
import { VolumeError, prepareVolume } from '@model-manager/registry';
import { createModelFetchWorker } from './worker.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  await prepareVolume(config.modelsDir);
  const { name, waitUntilReady, close } = createModelFetchWorker(config, logger);
  // undici 7 can throw an uncatchable assertion from a socket's 'end' handler when a paused
  // response meets an origin that closes the connection (nodejs/undici#5360; fixed in undici 8,
  // which needs Node 22). Bodies of `Connection: close` answers are never paused, but HTTP/1.0
  // origins do not always say so. Rather than lose every download in this process, that one
  // download is left to its idle timeout and resumes; any other uncaught error still ends the process.
  process.on('uncaughtException', (err) => {
    if (
      err?.name === 'AssertionError' &&
      /onHttpSocketEnd|onHttpSocketClose/.test(err.stack ?? '') &&
      /Parser\.finish/.test(err.stack ?? '')
    ) {
      logger.error(
        { err: err.message },
        'undici paused-body assertion (nodejs/undici#5360) caught; that download will time out and resume',
      );
      return;
    }
    logger.fatal({ err }, 'uncaught exception');
    void flushLogger(logger).finally(() => process.exit(1));
  });
  let signals = 0;
  const stop = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    logger.info(
      { signal, graceSeconds: config.SHUTDOWN_GRACE_SECONDS },
      'stopping: no new jobs, finishing active ones',
    );
    exitWhenClosed(logger, close(), 'worker stopped');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  stopWhenParentExits((reason) => signals === 0 && stop(reason));
  await waitUntilReady();
  logger.info(
    { name, concurrency: config.WORKER_CONCURRENCY, modelsDir: config.modelsDir, prefix: config.QUEUE_PREFIX },
    'worker ready',
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof VolumeError) {
    process.stderr.write(`model-manager worker: ${err.message}\n`);
  } else {
    process.stderr.write(`model-manager worker: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
