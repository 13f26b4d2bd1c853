// The project's own path, as a deployment runs it: real worker (and API) processes on a real Redis.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { processCpu, processPeakRss } from './timed.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const benchPrefix = (label) => `mmbench-${label}-${randomBytes(3).toString('hex')}`;

/** Starts `apps/<app>/dist/main.js` and resolves once it logged `readyMsg`. */
export function startApp(app, env, readyMsg) {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the apps the bench starts.
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : [];
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'apps', app, 'dist', 'main.js')], {
    cwd: root,
    // The bench origin is nginx on loopback, which the network policy refuses by default.
    env: { ...process.env, LOG_LEVEL: 'info', ALLOWED_HOSTS: '*', ALLOW_PRIVATE_NETWORKS: 'true', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes(`"${readyMsg}"`)) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`${app} exited (${code}) before "${readyMsg}"`)));
  });
  return {
    child,
    ready,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** Deletes every key under a bench prefix. */
export async function dropPrefix(prefix) {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

/**
 * Worker processes plus a queue to feed them: each `fetch` is a real fetch-model job, downloaded,
 * hashed, verified and published by the worker exactly as for an API request.
 */
export class ProjectWorkers {
  constructor({ modelsDir, workers = 1, concurrency = 1, extraEnv = {} }) {
    this.prefix = benchPrefix('worker');
    this.env = {
      REDIS_URL,
      QUEUE_PREFIX: this.prefix,
      MODELS_DIR: modelsDir,
      WORKER_CONCURRENCY: String(concurrency),
      MIN_FREE_BYTES: '0',
      ...extraEnv,
    };
    this.count = workers;
    this.seq = 0;
  }

  async start() {
    this.apps = Array.from({ length: this.count }, () => startApp('worker', this.env, 'worker ready'));
    await Promise.all(this.apps.map((a) => a.ready));
    this.queue = new Queue('model-fetch', { connection: { url: REDIS_URL }, prefix: this.prefix });
    this.events = new QueueEvents('model-fetch', { connection: { url: REDIS_URL }, prefix: this.prefix });
    await this.events.waitUntilReady();
  }

  cpu() {
    return this.apps.reduce((n, a) => n + processCpu(a.child.pid), 0);
  }

  peakRss() {
    return Math.max(...this.apps.map((a) => processPeakRss(a.child.pid)));
  }

  /** Downloads each URL as a new model; resolves with the wall time of the whole set and the models. */
  async fetchAll(items, kind = 'checkpoint') {
    const started = process.hrtime.bigint();
    const cpu0 = this.cpu();
    const jobs = await Promise.all(
      items.map(({ url, sha256 }) =>
        this.queue.add(
          'fetch-model',
          { kind, name: `bench-${++this.seq}`, url, sha256, requestedAt: Date.now() },
          { attempts: 1, removeOnComplete: true, removeOnFail: true },
        ),
      ),
    );
    const models = await Promise.all(jobs.map((job) => job.waitUntilFinished(this.events, 600_000)));
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    return { wall, cpu: this.cpu() - cpu0, models };
  }

  async stop() {
    await this.events?.close();
    await this.queue?.close();
    await Promise.all((this.apps ?? []).map((a) => a.stop()));
    await dropPrefix(this.prefix);
  }
}
