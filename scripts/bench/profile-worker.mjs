// Ad-hoc: one worker under --cpu-prof fetching the 1 GiB file N times from the capped or plain origin.
import { createHash, randomFillSync } from 'node:crypto';
import { mkdirSync, openSync, writeSync, closeSync, rmSync, createReadStream } from 'node:fs';
import path from 'node:path';
import { startNginx } from './origin.mjs';
import { ProjectWorkers } from './project.mjs';
const MiB = 1024 * 1024;
const shm = '/dev/shm/mm-prof';
const size = Number(process.env.SIZE_MIB ?? 1024) * MiB;
const route = process.env.ROUTE ?? 'capped';
const runs = Number(process.env.RUNS ?? 3);
mkdirSync(path.join(shm, 'origin'), { recursive: true });
const file = path.join(shm, 'origin', 'big.bin');
const fd = openSync(file, 'w'); const buf = Buffer.alloc(64 * MiB);
for (let left = size; left > 0; left -= buf.length) { randomFillSync(buf); writeSync(fd, buf, 0, Math.min(buf.length, left)); } closeSync(fd);
const h = createHash('sha256'); for await (const c of createReadStream(file, { highWaterMark: MiB })) h.update(c); const sha = h.digest('hex');
const nginx = await startNginx({ root: path.join(shm, 'origin'), workDir: path.join(shm, 'nginx'), capBytesPerSec: '100m' });
const extra = {};
const w = new ProjectWorkers({ modelsDir: path.join(shm, 'out'), extraEnv: { ...extra, ...(process.env.SEGMENTS ? { SEGMENTS: process.env.SEGMENTS } : {}) } });
await w.start();
const walls = [];
for (let i = 0; i < runs; i++) {
  const r = await w.fetchAll([{ url: `${nginx.url}/${route}/big.bin`, sha256: sha }]);
  if (i > 0) walls.push(r.wall);
  console.log(`run ${i}: wall ${r.wall.toFixed(3)} s, cpu ${r.cpu.toFixed(2)} s`);
  for (const m of r.models) rmSync(m.path, { force: true });
}
walls.sort((a, b) => a - b);
console.log('median wall after the first run', walls[walls.length >> 1]?.toFixed(3));
await w.stop(); await nginx.stop(); rmSync(shm, { recursive: true, force: true });
