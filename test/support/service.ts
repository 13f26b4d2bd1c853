import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ContractProxy } from './contract-proxy.js';
import { dropPrefix, tempModelsDir, uniquePrefix } from './isolation.js';
import { REDIS_URL } from './redis-url.js';
import { dropVolumeKeys } from './volume-keys.js';

export { REDIS_URL };
export { dropPrefix, tempModelsDir, uniquePrefix };

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningProcess {
  child: ChildProcess;
  logs: string[];
  /** Resolves with the first parsed JSON log line matching `msg`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

// Whatever happens to the test process, it takes the apps it started with it.
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * The test origins listen on loopback, which the network policy refuses by default; tests of the
 * policy itself pass their own ALLOWED_HOSTS and ALLOW_PRIVATE_NETWORKS.
 */
export const LOOPBACK_ORIGINS_ALLOWED = { ALLOWED_HOSTS: '*', ALLOW_PRIVATE_NETWORKS: 'true' };

/** Starts one of the built apps (`api` or `worker`) as a real OS process. */
export function startApp(app: 'api' | 'worker', env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, [path.join(repoRoot, 'apps', app, 'dist', 'main.js')], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info', ...LOOPBACK_ORIGINS_ALLOWED, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  const logs: string[] = [];
  const waiters: Array<{ msg: string; resolve: (v: Record<string, unknown>) => void }> = [];
  const onLine = (line: string) => {
    logs.push(line);
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      for (const w of [...waiters]) {
        if (parsed.msg === w.msg) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    } catch {
      /* not JSON (stderr text) */
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    waitForLog(msg, timeoutMs = 20_000) {
      const seen = logs
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return null;
          }
        })
        .find((p) => p?.msg === msg);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${app}: no "${msg}" log within ${timeoutMs} ms\n${logs.join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          msg,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`${app} exited (${code}) before "${msg}"\n${logs.join('\n')}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface Service {
  /** The API through the contract proxy: what tests call. */
  apiUrl: string;
  /** The API's own address (to restart it on the same port behind the proxy). */
  apiDirectUrl: string;
  api: RunningProcess;
  worker: RunningProcess;
  modelsDir: string;
  prefix: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The settings every test process runs with: its prefix and volume, a free port, short waits. */
export function serviceEnv(
  prefix: string,
  modelsDir: string,
  extraEnv: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    MODELS_DIR: modelsDir,
    PORT: '0',
    HOST: '127.0.0.1',
    DOWNLOAD_BACKOFF_MS: '200',
    SHUTDOWN_GRACE_SECONDS: '5',
    HIT_FLUSH_SECONDS: '1',
    ...extraEnv,
  };
}

/** The real API and one real worker, on a temp volume and a prefix of their own. */
export async function startService(label: string, extraEnv: Record<string, string> = {}): Promise<Service> {
  const volume = tempModelsDir();
  const prefix = uniquePrefix(label);
  const env = serviceEnv(prefix, volume.dir, extraEnv);
  const api = startApp('api', env);
  const worker = startApp('worker', env);
  const [listening] = await Promise.all([api.waitForLog('api listening'), worker.waitForLog('worker ready')]);
  // Every answer the suite gets is checked against the OpenAPI document on the way.
  const apiDirectUrl = `http://127.0.0.1:${listening.port as number}`;
  const contract = await new ContractProxy(apiDirectUrl).start();
  const service: Service = {
    apiUrl: contract.url,
    apiDirectUrl,
    api,
    worker,
    modelsDir: volume.dir,
    prefix,
    env,
    async stop() {
      // svc.worker may have been replaced by a test (a restarted worker): stop what is there now.
      await Promise.all([service.api.stop(), service.worker.stop()]);
      await contract.close();
      await dropVolumeKeys(volume.dir).catch(() => {}); // leases and reservations live outside the prefix
      volume.remove();
      await dropPrefix(prefix);
      if (contract.violations.length > 0) {
        throw new Error(
          `answers the OpenAPI document does not allow (${contract.violations.length}):\n${[...new Set(contract.violations)].slice(0, 20).join('\n')}`,
        );
      }
    },
  };
  return service;
}

/** JSON over real HTTP (Node's fetch). */
export async function call(
  base: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed };
}
