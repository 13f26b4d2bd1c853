import type { Express } from 'express';
import { createLogger, loadConfig } from '@model-manager/core';
import { prepareVolume } from '@model-manager/registry';
import { createApp, createServiceContext, type ServiceContext } from '@model-manager/api';
import { LOOPBACK_ORIGINS_ALLOWED, REDIS_URL, dropPrefix, tempModelsDir, uniquePrefix } from './service.js';

export interface InProcessApi {
  ctx: ServiceContext;
  app: Express;
  modelsDir: string;
  prefix: string;
  /** Closes the context, removes the volume and drops the prefix's keys. */
  close(): Promise<void>;
}

/** The API's express app in this process (no worker), on a temp volume and a prefix of its own. */
export async function startInProcessApi(label: string, env: Record<string, string> = {}): Promise<InProcessApi> {
  const volume = tempModelsDir();
  const prefix = uniquePrefix(label);
  const config = loadConfig({
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    MODELS_DIR: volume.dir,
    ...LOOPBACK_ORIGINS_ALLOWED,
    ...env,
  });
  await prepareVolume(config.modelsDir);
  const ctx = await createServiceContext(config, createLogger({ level: 'silent', name: 'api' }));
  return {
    ctx,
    app: createApp(ctx),
    modelsDir: volume.dir,
    prefix,
    async close() {
      await ctx.close();
      volume.remove();
      await dropPrefix(prefix);
    },
  };
}
