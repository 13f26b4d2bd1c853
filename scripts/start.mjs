#!/usr/bin/env node
// `npm start`: the API and one worker together, plus a private redis-server when none answers
// at the default REDIS_URL. Stops them all on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { ConfigError, PARENT_PIPE_ENV, loadConfig, parseRedisTarget } from '@model-manager/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stderr.write(`[model-manager] ${line}\n`);

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    say(err.message);
    process.exit(1);
  }
  throw err;
}

/** PING over a bare socket: true when a Redis answers at host:port. */
async function redisAnswers(url, timeoutMs = 1000) {
  const target = parseRedisTarget(url);
  // A cluster URL is no URL `new URL` reads (several host:port seeds): one answering seed will do,
  // the clients find the other nodes from it.
  if (target.mode === 'cluster') {
    for (const node of target.nodes) if (await serverAnswers(node.host, node.port, timeoutMs)) return true;
    return false;
  }
  const { hostname, port } = new URL(url);
  return serverAnswers(hostname || '127.0.0.1', Number(port || 6379), timeoutMs);
}

function serverAnswers(host, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // +PONG, or -NOAUTH when a password is needed: either way a Redis is there.
    socket.once('data', (data) => done(/^[+-]/.test(data.toString())));
  });
}

const children = [];
let redis;
let stopping = false;

async function startPrivateRedis() {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (found.status !== 0) {
    say(`nothing answers at ${config.REDIS_URL} and there is no redis-server on PATH. Either:`);
    say('  - install one:        sudo apt-get install redis-server');
    say('  - run one in Docker:  docker compose up -d redis   (then REDIS_URL=redis://127.0.0.1:6379)');
    say('  - or point REDIS_URL at a Redis you have');
    process.exit(1);
  }
  const { port } = new URL(config.REDIS_URL);
  const dataDir = path.join(root, 'data', 'redis');
  mkdirSync(dataDir, { recursive: true });
  say(`no Redis at ${config.REDIS_URL}: starting a private redis-server (data in ${dataDir})`);
  redis = spawn(
    'redis-server',
    [
      '--port',
      port || '6379',
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
    ],
    // Its own process group: Ctrl-C reaches only this script, which stops Redis last.
    { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  redis.on('exit', (code) => {
    if (!stopping) {
      say(`redis-server exited (${code}); stopping`);
      stop(1);
    }
  });
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(config.REDIS_URL)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  say('the private redis-server did not answer within 5 s');
  stop(1);
}

function run(name, script) {
  const child = spawn(process.execPath, [path.join(root, script)], {
    cwd: root,
    // stdin is a pipe from this script: if it dies, even by SIGKILL, the app sees the pipe close and stops.
    env: { ...process.env, [PARENT_PIPE_ENV]: '1' },
    stdio: ['pipe', 'pipe', 'inherit'],
    // Its own process group: Ctrl-C reaches only this script, which sends each app one SIGTERM
    // (a second signal would make an app skip its graceful shutdown).
    detached: true,
  });
  children.push(child);
  createInterface({ input: child.stdout }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    if (name === 'api' && line.includes('"api listening"')) {
      try {
        const { address: url, dashboard } = JSON.parse(line);
        say(`API:       ${url}`);
        say(`Dashboard: ${dashboard}`);
        say(
          `Try:       curl -s -XPOST '${url}/v1/fetch?wait=60' -H 'content-type: application/json' -d '{"kind":"lora","name":"my-lora","url":"https://..."}'`,
        );
      } catch {
        /* a log line we do not know: printed above anyway */
      }
    }
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping the rest`);
      stop(code || 1);
    }
  });
  return child;
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
  if (redis && redis.exitCode === null) {
    await new Promise((resolve) => {
      redis.once('exit', resolve);
      redis.kill('SIGTERM');
    });
  }
  process.exit(code);
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

if (!(await redisAnswers(config.REDIS_URL))) {
  if (!config.redisUrlIsDefault) {
    say(
      `nothing answers at REDIS_URL=${config.REDIS_URL.replace(/\/\/[^@]*@/, '//***@')}; start that Redis or unset REDIS_URL to let npm start run a private one`,
    );
    process.exit(1);
  }
  await startPrivateRedis();
}
run('api', 'apps/api/dist/main.js');
run('worker', 'apps/worker/dist/main.js');
