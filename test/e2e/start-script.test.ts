import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import {
  LOOPBACK_ORIGINS_ALLOWED,
  REDIS_URL,
  call,
  dropPrefix,
  repoRoot,
  tempModelsDir,
  uniquePrefix,
} from '../support/service.js';

describe('npm start (scripts/start.mjs)', () => {
  const origin = new TestOrigin();
  const volume = tempModelsDir();
  const prefix = uniquePrefix('start');
  beforeAll(() => origin.start());
  afterAll(async () => {
    await origin.close();
    volume.remove();
    await dropPrefix(prefix);
  });

  it('runs the API and a worker, says where they are, and on Ctrl-C stops both gracefully', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs')], {
      cwd: repoRoot,
      // Hits reach the registry only at shutdown here, which is what this test checks.
      env: {
        ...process.env,
        ...LOOPBACK_ORIGINS_ALLOWED,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        MODELS_DIR: volume.dir,
        PORT: '0',
        HIT_FLUSH_SECONDS: '60',
        SHUTDOWN_GRACE_SECONDS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, as a terminal gives it
    });
    const said: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const apiUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no API line:\n${said.join('\n')}`)), 20_000);
        let api = '';
        createInterface({ input: child.stderr! }).on('line', (line) => {
          said.push(line);
          api ||= /API:\s+(http:\/\/\S+)/.exec(line)?.[1] ?? '';
          if (api && /Dashboard:\s+http:\/\/\S+\/admin\/queues/.test(line)) {
            clearTimeout(timer);
            resolve(api);
          }
        });
        createInterface({ input: child.stdout! }).on('line', () => {});
      });

      const file = origin.addFile('started.safetensors', 100_000);
      const ref = {
        kind: 'lora',
        name: 'started',
        url: `${origin.url}/files/started.safetensors`,
        sha256: file.sha256,
      };
      // The worker may still be connecting: wait covers it.
      expect((await call(apiUrl, 'POST', '/v1/fetch?wait=30', ref)).body.status).toBe('completed');
      expect((await call(apiUrl, 'POST', '/v1/fetch', ref)).body.status).toBe('cached');

      // A download in flight when Ctrl-C comes.
      origin.addFile('inflight.safetensors', 1024 * 1024);
      const inflight = await call(apiUrl, 'POST', '/v1/fetch', {
        kind: 'lora',
        name: 'inflight',
        url: `${origin.url}/slow/inflight.safetensors?ms=50&chunk=16384`,
      });
      await expect
        .poll(async () => (await call(apiUrl, 'GET', `/v1/jobs/${inflight.body.jobId}`)).body.status)
        .toBe('active');

      process.kill(-child.pid!, 'SIGINT'); // Ctrl-C: the whole foreground process group
      expect(await exited).toBe(0);
      // The worker shut down gracefully (one signal): the cut-off job went back to the queue, not left "active".
      const queue = new Queue('model-fetch', { connection: { url: REDIS_URL } as never, prefix });
      expect(await queue.getJobState(inflight.body.jobId)).toMatch(/^(waiting|prioritized)$/);
      await queue.close();
      const registry = JSON.parse(readFileSync(path.join(volume.dir, 'cache_registry.json'), 'utf8'));
      expect(registry.loras.started.usage_count).toBe(2); // the download, and the API flushed its batched hit on the way out
      await expect(fetch(`${apiUrl}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });

  it('leaves no API or worker running when the start script itself is killed with SIGKILL', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...LOOPBACK_ORIGINS_ALLOWED,
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        MODELS_DIR: volume.dir,
        PORT: '0',
        SHUTDOWN_GRACE_SECONDS: '1',
      },
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    const pids: Record<string, number> = {};
    let apiUrl = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not started: ${JSON.stringify(pids)}`)), 20_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as { msg?: string; pid?: number; address?: string };
          if (entry.msg === 'api listening') [pids.api, apiUrl] = [entry.pid!, entry.address!];
          if (entry.msg === 'worker ready') pids.worker = entry.pid!;
          if (pids.api && pids.worker) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
      process.kill(child.pid!, 'SIGKILL'); // the script alone, not its children
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      await expect.poll(() => [alive(pids.api!), alive(pids.worker!)], { timeout: 15_000 }).toEqual([false, false]);
      await expect(fetch(`${apiUrl}/healthz`)).rejects.toThrow();
    } finally {
      for (const pid of [child.pid, pids.api, pids.worker]) {
        try {
          process.kill(pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });
});
