import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REDIS_URL, dropPrefix, startApp, tempModelsDir, uniquePrefix } from '../support/service.js';

async function exitOf(app: 'api' | 'worker', env: Record<string, string>) {
  const proc = startApp(app, { REDIS_URL, QUEUE_PREFIX: uniquePrefix('startup'), PORT: '0', ...env });
  const code = await new Promise<number | null>((resolve) => proc.child.once('exit', resolve));
  return { code, output: proc.logs.join('\n') };
}

describe('start-up', () => {
  it('creates the three model folders and the staging folder', async () => {
    const volume = tempModelsDir();
    const modelsDir = path.join(volume.dir, 'nested', 'models');
    const prefix = uniquePrefix('startup');
    const worker = startApp('worker', { REDIS_URL, QUEUE_PREFIX: prefix, MODELS_DIR: modelsDir });
    await worker.waitForLog('worker ready');
    expect(await worker.stop()).toBe(0);
    for (const d of ['checkpoints', 'loras', 'embeddings', '.incoming'])
      expect(existsSync(path.join(modelsDir, d))).toBe(true);
    volume.remove();
    await dropPrefix(prefix);
  });

  it.each(['api', 'worker'] as const)('%s stops with one message listing each bad variable', async (app) => {
    const { code, output } = await exitOf(app, {
      WORKER_CONCURRENCY: 'many',
      DOWNLOAD_IDLE_TIMEOUT: '-5',
      MODELS_DIR: '/tmp',
    });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain('WORKER_CONCURRENCY');
    expect(output).toContain('DOWNLOAD_IDLE_TIMEOUT');
  });

  it('stops with a message naming the path and the reason when MODELS_DIR cannot be created', async () => {
    const volume = tempModelsDir();
    const blocker = path.join(volume.dir, 'a-file');
    writeFileSync(blocker, 'x');
    const { code, output } = await exitOf('api', { MODELS_DIR: path.join(blocker, 'models') });
    expect(code).toBe(1);
    expect(output).toContain(path.join(blocker, 'models'));
    expect(output).toMatch(/not a directory|ENOTDIR|EEXIST/);
    volume.remove();
  });

  it('stops when a model folder cannot be made or written', async () => {
    const volume = tempModelsDir();
    // Tests run as root, which ignores permission bits; a file where the folder should be
    // blocks it for root too.
    writeFileSync(path.join(volume.dir, 'embeddings'), 'not a folder');
    const { code, output } = await exitOf('worker', { MODELS_DIR: volume.dir });
    expect(code).toBe(1);
    expect(output).toContain(path.join(volume.dir, 'embeddings'));
    volume.remove();
  });
});
