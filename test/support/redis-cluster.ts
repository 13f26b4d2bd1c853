import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';

const run = promisify(execFile);

/** A real Redis Cluster of `masters` redis-server processes on loopback, in a temp dir, no persistence. */
export interface TestRedisCluster {
  ports: number[];
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...`: the REDIS_URL form the service reads. */
  url: string;
  /** A cluster client for the test's own looks at the keys; disconnected by stop(). */
  client(): Cluster;
  /** Every key on every master, with the slot it hashes to and the port that holds it. */
  allKeys(): Promise<Array<{ key: string; slot: number; port: number }>>;
  stop(): Promise<void>;
}

/** True when nothing listens on the port (bound and released at once). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Ports whose cluster bus port (port + 10000) is free too. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ports.includes(port) || ports.includes(port + 10_000) || ports.includes(port - 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-redis-cluster-'));
  const ports = await freePorts(masters);
  const servers: ChildProcess[] = [];
  const clients: Cluster[] = [];
  const stop = async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await Promise.all(
      servers.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { stdio: 'ignore' },
      );
      servers.push(child);
    }
    for (const port of ports) await waitFor(`no PONG from ${port}`, async () => (await ask(port, 'PING')) === 'PONG');
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    // `create` returns once slots are assigned; every node must agree before clients rely on it.
    for (const port of ports)
      await waitFor(`cluster_state not ok on ${port}`, async () =>
        (await ask(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      );
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  return {
    ports,
    url,
    client() {
      const c = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
      clients.push(c);
      return c;
    },
    async allKeys() {
      const found: Array<{ key: string; slot: number; port: number }> = [];
      for (const port of ports) {
        const node = new Redis({ host: '127.0.0.1', port });
        try {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'COUNT', 1000);
            cursor = next;
            for (const key of keys) found.push({ key, slot: Number(await node.call('CLUSTER', 'KEYSLOT', key)), port });
          } while (cursor !== '0');
        } finally {
          node.disconnect();
        }
      }
      return found;
    },
    stop,
  };
}
