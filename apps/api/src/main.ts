#!/usr/bin/env node
import { isIP, type AddressInfo } from 'node:net';
import {
  ConfigError,
  createLogger,
  exitWhenClosed,
  loadConfig,
  stopWhenParentExits,
  type Config,
} from '@model-manager/core';
import { VolumeError, prepareVolume } from '@model-manager/registry';
import { createApp } from './app.js';
import { createServiceContext } from './context.js';
import { DASHBOARD_PATH } from './dashboard.js';

async function main(): Promise<void> {
  const config = loadConfig();
  assertSafeBinding(config);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'api' });
  await prepareVolume(config.modelsDir);
  const ctx = await createServiceContext(config, logger);
  const server = createApp(ctx).listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // Long ?wait= requests must not be cut by Node's default request timeout.
  server.requestTimeout = 0;
  // Idle keep-alive sockets live longer than the idle timeouts of common clients and load
  // balancers (60 s): a client then never sends a request on a socket this server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'stopping: no new connections');
    // Requests waiting on jobs answer now (202 with the job id) instead of being cut off.
    ctx.waiter.close();
    ctx.maintenanceWaiter.close();
    ctx.events.close(); // open event streams end, or the server would wait for them
    const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_SECONDS * 1000);
    // Whatever hangs while closing (a Redis that does not answer), the process ends in bounded time.
    setTimeout(
      () => {
        logger.error('stopping took too long; exiting');
        process.exit(1);
      },
      (config.SHUTDOWN_GRACE_SECONDS + 10) * 1000,
    ).unref();
    force.unref();
    server.close(() => exitWhenClosed(logger, ctx.close(), 'api stopped'));
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  stopWhenParentExits((reason) => !stopping && stop(reason));

  const { port } = server.address() as AddressInfo;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  logger.info(
    {
      port,
      address: `http://${host}:${port}`,
      dashboard: `http://${host}:${port}${DASHBOARD_PATH}`,
      modelsDir: config.modelsDir,
    },
    'api listening',
  );
}

/**
 * The API can queue downloads onto the volume, delete models and retry or remove jobs in the
 * dashboard: on an address other machines reach, it needs a token (or an explicit opt-out for a
 * deployment that puts its own gateway in front).
 */
function assertSafeBinding(config: Config): void {
  const host = config.HOST.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || (isIP(host) !== 0 && isPrivateLoopback(host));
  if (loopback || config.API_TOKEN || config.ALLOW_UNAUTHENTICATED) return;
  throw new ConfigError(
    `HOST=${config.HOST} would let anyone who reaches this address queue downloads, delete models and edit jobs, ` +
      'so the API refuses to start without a token: set API_TOKEN (16+ characters; clients send Authorization: Bearer <token>), ' +
      'or listen on 127.0.0.1, or set ALLOW_UNAUTHENTICATED=true if a gateway in front of it authenticates callers.',
  );
}

function isPrivateLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1' || /^::ffff:127\./i.test(ip);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof VolumeError)
    process.stderr.write(`model-manager api: ${err.message}\n`);
  else process.stderr.write(`model-manager api: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
