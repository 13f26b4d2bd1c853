#!/usr/bin/env node
// Quick side-by-side checks of a download-path change: one real worker fetches one file RUNS
// times from the loopback nginx origin and prints each run and the median (the first run is a
// warm-up). Settings: ROUTE=capped|plain (capped: 100 MB/s per connection), SEGMENTS, RUNS (3),
// SIZE_MIB (1024). Profile the worker with BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { makeFile, sha256Of } from './files.mjs';
import { startNginx } from './origin.mjs';
import { ProjectWorkers } from './project.mjs';
import { ensureTools } from './tools.mjs';

const MiB = 1024 * 1024;
const shm = '/dev/shm/mm-prof';
const size = Number(process.env.SIZE_MIB ?? 1024) * MiB;
const route = process.env.ROUTE ?? 'capped';
const runs = Number(process.env.RUNS ?? 3);

ensureTools((msg) => process.stderr.write(`[profile] ${msg}\n`));
mkdirSync(path.join(shm, 'origin'), { recursive: true });
const file = path.join(shm, 'origin', 'big.bin');
makeFile(file, size);
const sha256 = await sha256Of(file);

const nginx = await startNginx({
  root: path.join(shm, 'origin'),
  workDir: path.join(shm, 'nginx'),
  capBytesPerSec: '100m',
});
const workers = new ProjectWorkers({
  modelsDir: path.join(shm, 'out'),
  extraEnv: process.env.SEGMENTS ? { SEGMENTS: process.env.SEGMENTS } : {},
});
try {
  await workers.start();
  const walls = [];
  for (let i = 0; i < runs; i++) {
    const r = await workers.fetchAll([{ url: `${nginx.url}/${route}/big.bin`, sha256 }]);
    if (i > 0) walls.push(r.wall);
    console.log(`run ${i}: wall ${r.wall.toFixed(3)} s, cpu ${r.cpu.toFixed(2)} s`);
    for (const m of r.models) rmSync(m.path, { force: true });
  }
  walls.sort((a, b) => a - b);
  console.log('median wall after the first run', walls[walls.length >> 1]?.toFixed(3));
} finally {
  await workers.stop();
  await nginx.stop();
  rmSync(shm, { recursive: true, force: true });
}
