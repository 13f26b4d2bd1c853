#!/usr/bin/env node
// `npm run bench`: the project's download path against curl, curl | tee | sha256sum and aria2c, plus
// the API's hot path, enqueueing and scaling, in one run, contenders alternated round by round.
// Settings: BENCH_SIZE_MIB (1024), BENCH_ROUNDS (5), BENCH_ONLY (comma list of scenario names),
// BENCH_DISK_DIR (./data/bench), REDIS_URL. `--write-docs` puts the table into docs/benchmarks.md.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { makeFile, sha256Of } from './files.mjs';
import { startNginx } from './origin.mjs';
import { REDIS_URL, ProjectWorkers, benchPrefix, dropPrefix, startApp } from './project.mjs';
import { timed } from './timed.mjs';
import { ensureTools, machineInfo } from './tools.mjs';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 1024) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const WRITE_DOCS = process.argv.includes('--write-docs');
const shm = '/dev/shm/model-manager-bench';
const diskDir = path.resolve(process.env.BENCH_DISK_DIR ?? path.join(root, 'data', 'bench'));
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const want = (name) => !ONLY || ONLY.has(name);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs each contender once per round, alternating, after one warm-up round; keeps every measure. */
async function alternate(contenders, rounds = ROUNDS) {
  const results = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let round = 0; round <= rounds; round++) {
    for (const c of contenders) {
      const r = await c.run();
      if (round > 0) results[c.name].push(r);
      await c.after?.();
    }
    log(`  round ${round === 0 ? 'warm-up' : round} done`);
  }
  return results;
}

const rows = [];
function summarise(scenario, results, bytes, peers) {
  const med = {};
  for (const [name, runs] of Object.entries(results)) {
    med[name] = {
      wall: median(runs.map((r) => r.wall)),
      cpuPerGiB: median(runs.map((r) => r.cpu)) / (bytes / GiB),
      rssMiB: Math.max(...runs.map((r) => r.rssMiB ?? 0)),
      runs: runs.map((r) => Number(r.wall.toFixed(3))),
    };
  }
  for (const [name, m] of Object.entries(med)) {
    const peer = peers?.[name];
    rows.push({
      scenario,
      contender: name,
      wall: m.wall,
      mbps: bytes / MiB / m.wall,
      cpuPerGiB: m.cpuPerGiB,
      rssMiB: m.rssMiB,
      ratio: peer ? `${(m.wall / med[peer.of].wall).toFixed(2)}× ${peer.of}` : '',
      target: peer?.target ?? '',
      met: peer ? (m.wall / med[peer.of].wall <= peer.max ? 'yes' : 'no') : '',
      runs: m.runs,
    });
  }
}

async function downloadScenario({ name, url, sha256, sourceFile, outDir, contenders, peers, bytes, projectEnv = {} }) {
  log(`${name}: ${contenders.map((c) => c).join(' vs ')} (${(bytes / MiB).toFixed(0)} MiB)`);
  mkdirSync(outDir, { recursive: true });
  const project = new ProjectWorkers({ modelsDir: path.join(outDir, 'models'), extraEnv: projectEnv });
  if (contenders.includes('project')) await project.start();
  const out = (file) => path.join(outDir, file);
  const all = {
    project: {
      name: 'project',
      run: async () => {
        const r = await project.fetchAll([{ url, sha256 }]);
        rmSync(r.models[0].path, { force: true });
        return { wall: r.wall, cpu: r.cpu, rssMiB: project.peakRss() };
      },
    },
    'curl -o': {
      name: 'curl -o',
      run: () => timed('curl', ['-s', '-o', out('curl.bin'), url]),
      after: () => rmSync(out('curl.bin'), { force: true }),
    },
    'curl -o; sync FILE': {
      // curl -o leaves the file in the page cache; the project fsyncs before publishing. This is
      // curl made as durable, for a like-for-like floor on a real disk.
      name: 'curl -o; sync FILE',
      run: () => timed('sh', ['-c', `curl -s -o '${out('curl-sync.bin')}' '${url}' && sync '${out('curl-sync.bin')}'`]),
      after: () => rmSync(out('curl-sync.bin'), { force: true }),
    },
    'sha256 alone': {
      // The floor of any verified download: SHA-256 of the whole file on one core, from the
      // page cache, the way the worker's hashing thread reads it.
      name: 'sha256 alone',
      run: async () => {
        const t = process.hrtime.bigint();
        const cpu0 = process.cpuUsage();
        await sha256Of(sourceFile, 4 * MiB);
        const cpu = process.cpuUsage(cpu0);
        return { wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: (cpu.user + cpu.system) / 1e6 };
      },
    },
    'curl | tee | sha256sum': {
      name: 'curl | tee | sha256sum',
      run: () => timed('sh', ['-c', `curl -s '${url}' | tee '${out('tee.bin')}' | sha256sum > /dev/null`]),
      after: () => rmSync(out('tee.bin'), { force: true }),
    },
    'aria2c -x8 -s8': {
      name: 'aria2c -x8 -s8',
      run: () =>
        timed('aria2c', [
          '-q',
          '-x8',
          '-s8',
          '--allow-overwrite=true',
          '--file-allocation=none',
          '--auto-file-renaming=false',
          '-d',
          outDir,
          '-o',
          'aria.bin',
          url,
        ]),
      after: () => rmSync(out('aria.bin'), { force: true }),
    },
  };
  try {
    const results = await alternate(contenders.map((c) => all[c]));
    summarise(name, results, bytes, peers);
  } finally {
    await project.stop();
  }
}

async function memoryScenario(originUrl) {
  // Four different files: the same bytes under four names would be one download and three links.
  log('memory: one worker, 4 downloads of different files of the big size at once');
  const files = [];
  for (let i = 1; i <= 4; i++) {
    const name = `mem-${i}.bin`;
    makeFile(path.join(shm, 'origin', name), SIZE);
    files.push({ url: `${originUrl}/plain/${name}`, sha256: await sha256Of(path.join(shm, 'origin', name)) });
  }
  const workers = new ProjectWorkers({ modelsDir: path.join(shm, 'mem-models'), concurrency: 4 });
  await workers.start();
  try {
    const r = await workers.fetchAll(files);
    for (const m of r.models) rmSync(m.path, { force: true });
    rows.push({
      scenario: 'memory (4 at once)',
      contender: 'project worker',
      wall: r.wall,
      mbps: (4 * SIZE) / MiB / r.wall,
      cpuPerGiB: r.cpu / ((4 * SIZE) / GiB),
      rssMiB: workers.peakRss(),
      ratio: '',
      target: 'peak RSS < 200 MiB',
      met: workers.peakRss() < 200 ? 'yes' : 'no',
      runs: [Number(r.wall.toFixed(3))],
    });
  } finally {
    await workers.stop();
  }
}

async function waitLine(child, msg) {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes(`"${msg}"`)) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before ${msg}`)));
  });
}

function cannon(url, body) {
  return autocannon({
    url,
    method: 'POST',
    connections: 50,
    duration: 10,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function hotPathScenario(origin) {
  log('hot path: POST /v1/fetch of a cached model vs a bare express route (autocannon, 50 connections, 10 s)');
  const modelsDir = path.join(shm, 'hot-models');
  mkdirSync(modelsDir, { recursive: true });
  const prefix = benchPrefix('hot');
  const env = { REDIS_URL, QUEUE_PREFIX: prefix, MODELS_DIR: modelsDir, PORT: '0', MIN_FREE_BYTES: '0' };
  const api = startApp('api', env, 'api listening');
  const worker = startApp('worker', env, 'worker ready');
  const bare = spawn(process.execPath, [path.join(root, 'scripts', 'bench', 'bare-express.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PORT: '0' },
  });
  try {
    const [listening] = await Promise.all([api.ready, worker.ready]);
    const apiUrl = `http://127.0.0.1:${listening.port}`;
    const bareUrl = `http://127.0.0.1:${(await waitLine(bare, 'bare listening')).port}`;
    const ref = { kind: 'lora', name: 'hot', url: `${origin}/plain/small.bin` };
    const seeded = await fetch(`${apiUrl}/v1/fetch?wait=60`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ref),
    }).then((r) => r.json());
    if (seeded.status !== 'completed' && seeded.status !== 'cached')
      throw new Error(`could not seed the hot model: ${JSON.stringify(seeded)}`);
    const results = { project: [], 'bare express': [] };
    for (let round = 0; round < 2; round++) {
      for (const [name, url] of [
        ['bare express', bareUrl],
        ['project', apiUrl],
      ]) {
        const r = await cannon(`${url}/v1/fetch`, ref);
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
        results[name].push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 });
      }
      log(`  round ${round + 1} done`);
    }
    const rps = (n) => median(results[n].map((r) => r.rps));
    const p99 = (n) => median(results[n].map((r) => r.p99));
    const p50 = (n) => median(results[n].map((r) => r.p50));
    const share = rps('project') / rps('bare express');
    for (const n of ['bare express', 'project']) {
      rows.push({
        scenario: 'hot path (cached POST /v1/fetch)',
        contender: n,
        wall: null,
        rps: rps(n),
        p50: p50(n),
        p99: p99(n),
        ratio: n === 'project' ? `${(share * 100).toFixed(0)} % of bare express` : '',
        target: n === 'project' ? '≥ 50 % of bare, p99 ≤ 10 ms' : '',
        met: n === 'project' ? (share >= 0.5 && p99(n) <= 10 ? 'yes' : 'no') : '',
      });
    }
  } finally {
    bare.kill('SIGTERM');
    await Promise.all([api.stop(), worker.stop()]);
    await dropPrefix(prefix);
  }
}

async function enqueueScenario(origin) {
  log('enqueue: POST /v1/batches of 1000 new items vs a bare queue.addBulk of 1000 jobs');
  const prefix = benchPrefix('enqueue');
  const barePrefix = benchPrefix('addbulk');
  const env = { REDIS_URL, QUEUE_PREFIX: prefix, MODELS_DIR: path.join(shm, 'enqueue-models'), PORT: '0' };
  const api = startApp('api', env, 'api listening'); // no worker: the jobs only queue
  const queue = new Queue('model-fetch', { connection: { url: REDIS_URL }, prefix: barePrefix });
  let n = 0;
  const items = () =>
    Array.from({ length: 1000 }, () => ({ kind: 'lora', name: `e-${++n}`, url: `${origin}/capped/small.bin?i=${n}` }));
  try {
    const apiUrl = `http://127.0.0.1:${(await api.ready).port}`;
    const results = await alternate([
      {
        name: 'POST /v1/batches',
        run: async () => {
          const body = JSON.stringify({ items: items() });
          const t = process.hrtime.bigint();
          const res = await fetch(`${apiUrl}/v1/batches`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          await res.json();
          if (res.status !== 202) throw new Error(`batch answered ${res.status}`);
          return { wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: 0 };
        },
      },
      {
        name: 'queue.addBulk',
        run: async () => {
          const jobs = items().map((ref) => ({
            name: 'fetch-model',
            data: { ...ref, requestedAt: Date.now() },
            opts: {
              deduplication: { id: `${ref.kind}/${ref.name}` },
              priority: 10,
              attempts: 6,
              backoff: { type: 'model-fetch', delay: 2000 },
            },
          }));
          const t = process.hrtime.bigint();
          await queue.addBulk(jobs);
          return { wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: 0 };
        },
      },
    ]);
    const med = (k) => median(results[k].map((r) => r.wall));
    for (const k of ['queue.addBulk', 'POST /v1/batches']) {
      const ratio = med(k) / med('queue.addBulk');
      rows.push({
        scenario: 'enqueue 1000 new items',
        contender: k,
        wall: med(k),
        ratio: k === 'POST /v1/batches' ? `${ratio.toFixed(2)}× queue.addBulk` : '',
        target: k === 'POST /v1/batches' ? '≤ 2×' : '',
        met: k === 'POST /v1/batches' ? (ratio <= 2 ? 'yes' : 'no') : '',
        runs: results[k].map((r) => Number(r.wall.toFixed(3))),
      });
    }
  } finally {
    await queue.close();
    await api.stop();
    await Promise.all([dropPrefix(prefix), dropPrefix(barePrefix)]);
  }
}

async function scalingScenario(origin, files) {
  log('scaling: 256 MiB files from the capped origin (100 MB/s per connection)');
  const run = async (label, workers, concurrency, count) => {
    const w = new ProjectWorkers({
      modelsDir: path.join(shm, `scale-${workers}-${concurrency}`),
      workers,
      concurrency,
    });
    await w.start();
    try {
      const r = await w.fetchAll(
        files.slice(0, count).map((f) => ({ url: `${origin}/capped/${f.name}`, sha256: f.sha256 })),
      );
      for (const m of r.models) rmSync(m.path, { force: true });
      const bytes = count * 256 * MiB;
      rows.push({
        scenario: 'scaling (capped origin)',
        contender: label,
        wall: r.wall,
        mbps: bytes / MiB / r.wall,
        cpuPerGiB: r.cpu / (bytes / GiB),
        rssMiB: w.peakRss(),
        ratio: '',
        target: '',
        met: '',
      });
    } finally {
      await w.stop();
    }
  };
  await run('1 download, 1 worker', 1, 4, 1);
  await run('2 downloads, 1 worker', 1, 4, 2);
  await run('4 downloads, 1 worker', 1, 4, 4);
  await run('4 downloads, 2 workers × 2', 2, 2, 4);
}

function table(info) {
  const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '' : Number(x).toFixed(d));
  const lines = [
    `Measured ${info.date} on ${info.cpu} (${info.cores} cores, ${info.memoryGiB} GiB), Linux ${info.kernel}, Node.js ${info.node}, ${info.nginx}, ${info.curl}, ${info.aria2c}.`,
    `File size ${(SIZE / MiB).toFixed(0)} MiB, ${ROUNDS} rounds after a warm-up, contenders alternated; medians.`,
    '',
    '| scenario | contender | median wall s | MiB/s | CPU s/GiB | peak RSS MiB | req/s | p50 ms | p99 ms | ratio | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.contender.replaceAll('|', '\\|')} | ${fmt(r.wall, 3)} | ${fmt(r.mbps, 0)} | ${fmt(r.cpuPerGiB)} | ${fmt(r.rssMiB, 0)} | ${fmt(r.rps, 0)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.ratio ?? ''} | ${r.target ?? ''} | ${r.met ?? ''} |`,
    ),
  ];
  return lines.join('\n');
}

async function main() {
  ensureTools(log);
  const info = machineInfo();
  mkdirSync(path.join(shm, 'origin'), { recursive: true });
  mkdirSync(diskDir, { recursive: true });
  log(`making test files in ${shm}/origin`);
  const big = path.join(shm, 'origin', 'big.bin');
  makeFile(big, SIZE);
  const bigSha = await sha256Of(big);
  writeFileSync(path.join(shm, 'origin', 'small.bin'), Buffer.alloc(64 * 1024, 7));
  const scaleFiles = [];
  if (want('scaling')) {
    for (let i = 1; i <= 4; i++) {
      const name = `s256-${i}.bin`;
      makeFile(path.join(shm, 'origin', name), 256 * MiB);
      scaleFiles.push({ name, sha256: await sha256Of(path.join(shm, 'origin', name)) });
    }
  }
  const nginx = await startNginx({
    root: path.join(shm, 'origin'),
    workDir: path.join(shm, 'nginx'),
    capBytesPerSec: '100m',
  });
  const plain = `${nginx.url}/plain/big.bin`;
  const capped = `${nginx.url}/capped/big.bin`;
  try {
    if (want('tmpfs')) {
      await downloadScenario({
        name: 'single connection → tmpfs',
        url: plain,
        sha256: bigSha,
        bytes: SIZE,
        outDir: path.join(shm, 'out'),
        projectEnv: { SEGMENTS: '1' },
        sourceFile: big,
        contenders: ['project', 'curl -o', 'curl | tee | sha256sum', 'sha256 alone'],
        peers: { project: { of: 'curl -o', max: 1.15, target: '≤ 1.15× curl -o' } },
      });
      const r = rows.at(-1);
      // The second target reads the other way round: project ≤ 0.8 × curl | tee | sha256sum.
      const project = rows.find((x) => x.scenario === r.scenario && x.contender === 'project');
      const tee = rows.find((x) => x.scenario === r.scenario && x.contender === 'curl | tee | sha256sum');
      rows.push({
        scenario: r.scenario,
        contender: 'project vs curl | tee | sha256sum',
        wall: null,
        ratio: `${(project.wall / tee.wall).toFixed(2)}×`,
        target: '≤ 0.8×',
        met: project.wall / tee.wall <= 0.8 ? 'yes' : 'no',
      });
    }
    if (want('disk')) {
      await downloadScenario({
        name: `single connection → disk (${diskDir})`,
        url: plain,
        sha256: bigSha,
        bytes: SIZE,
        outDir: path.join(diskDir, 'out'),
        projectEnv: { SEGMENTS: '1' },
        contenders: ['project', 'curl -o', 'curl -o; sync FILE'],
        peers: { project: { of: 'curl -o', max: 1.1, target: '≤ 1.1× curl -o' } },
      });
      const r = rows.at(-1);
      const project = rows.find((x) => x.scenario === r.scenario && x.contender === 'project');
      const durable = rows.find((x) => x.scenario === r.scenario && x.contender === 'curl -o; sync FILE');
      rows.push({
        scenario: r.scenario,
        contender: 'project vs curl -o; sync FILE',
        wall: null,
        ratio: `${(project.wall / durable.wall).toFixed(2)}×`,
        target: '(like for like: both durable)',
        met: '',
      });
    }
    if (want('capped')) {
      await downloadScenario({
        name: 'capped origin (100 MB/s per connection) → tmpfs, project with SEGMENTS=8',
        url: capped,
        sha256: bigSha,
        bytes: SIZE,
        outDir: path.join(shm, 'out-capped'),
        contenders: ['project', 'aria2c -x8 -s8', 'curl -o'],
        peers: { project: { of: 'aria2c -x8 -s8', max: 1.0, target: '≤ 1.0× aria2c' } },
      });
    }
    if (want('memory')) await memoryScenario(nginx.url);
    if (want('hotpath')) await hotPathScenario(nginx.url);
    if (want('enqueue')) await enqueueScenario(nginx.url);
    if (want('scaling')) await scalingScenario(nginx.url, scaleFiles);
  } finally {
    await nginx.stop();
    rmSync(shm, { recursive: true, force: true });
    rmSync(path.join(diskDir, 'out'), { recursive: true, force: true });
  }
  const md = table(info);
  process.stdout.write(`\n${md}\n`);
  writeFileSync(path.join(diskDir, 'latest.json'), JSON.stringify({ info, size: SIZE, rounds: ROUNDS, rows }, null, 2));
  writeFileSync(path.join(diskDir, 'latest.md'), `${md}\n`);
  if (WRITE_DOCS) {
    const docs = path.join(root, 'docs', 'benchmarks.md');
    const text = readFileSync(docs, 'utf8');
    const next = text.replace(
      /<!-- bench:start -->[\s\S]*<!-- bench:end -->/,
      `<!-- bench:start -->\n${md}\n<!-- bench:end -->`,
    );
    writeFileSync(docs, next);
    log(`table written to ${docs}`);
  }
}

main().catch((err) => {
  process.stderr.write(`[bench] failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
