import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KIND_DIRS, MODEL_KINDS, QUEUE_NAME, type ModelKind } from '@model-manager/core';
import { TestOrigin, type OriginFile } from '../support/origin.js';
import {
  REDIS_URL,
  call,
  dropPrefix,
  serviceEnv,
  startApp,
  tempModelsDir,
  uniquePrefix,
  type RunningProcess,
} from '../support/service.js';
import { inspectVolume } from '../support/volume-check.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Polls `probe` until it returns a value (expect.poll checks a value; this one hands it back). */
async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A fleet as deployments run it: several worker processes (each its own WORKER_NAME) and two
 * API processes sharing one volume, one Redis and one QUEUE_PREFIX, as pods on different hosts would.
 */
describe('a fleet: 3 workers and 2 APIs on one volume and one queue', () => {
  const origin = new TestOrigin();
  const volume = tempModelsDir();
  const prefix = uniquePrefix('fleet');
  // A small lock: a killed worker's job is taken over within seconds, not the default minute.
  const env = serviceEnv(prefix, volume.dir, { JOB_LOCK_SECONDS: '4', MIN_FREE_BYTES: '0', SEGMENTS: '1' });
  const workers = new Map<string, RunningProcess>();
  const apis: Array<{ proc: RunningProcess; url: string }> = [];
  const queue = new Queue(QUEUE_NAME, { connection: { url: REDIS_URL } as never, prefix });

  beforeAll(async () => {
    await origin.start();
    const started = await Promise.all([
      ...['w1', 'w2', 'w3'].map(async (name) => {
        const proc = startApp('worker', { ...env, WORKER_NAME: `fleet-${name}` });
        const ready = await proc.waitForLog('worker ready');
        workers.set(ready.name as string, proc);
      }),
      ...[0, 1].map(async () => {
        const proc = startApp('api', env);
        const listening = await proc.waitForLog('api listening');
        apis.push({ proc, url: `http://127.0.0.1:${listening.port as number}` });
      }),
    ]);
    expect(started).toHaveLength(5);
  });
  afterAll(async () => {
    await Promise.all([...workers.values(), ...apis.map((a) => a.proc)].map((p) => p.stop('SIGKILL')));
    await queue.close();
    await origin.close();
    await dropPrefix(prefix);
    volume.remove();
  });

  it('downloads each model once for 60 overlapping requests through both APIs, and the registry lists exactly what is on the volume', async () => {
    const files: Array<{ kind: ModelKind; name: string; file: OriginFile; size: number; url: string }> = [];
    for (let i = 0; i < 20; i += 1) {
      const size = 256 * KiB + i * 48 * KiB;
      const name = `m${String(i).padStart(2, '0')}`;
      const file = origin.addFile(`${name}.safetensors`, size);
      // Paced, so downloads overlap and every worker gets some.
      files.push({
        kind: MODEL_KINDS[i % 3]!,
        name,
        file,
        size,
        url: `${origin.url}/slow/${name}.safetensors?ms=15&chunk=${64 * KiB}`,
      });
    }
    const item = (f: (typeof files)[number]) => ({ kind: f.kind, name: f.name, url: f.url, sha256: f.file.sha256 });
    // The same bytes under other names (another kind, too), asked for while the original is still
    // downloading (m00-m03 are the slowest): one download, the other names linked to it.
    for (const f of files.slice(0, 4)) f.url = `${origin.url}/slow/${f.name}.safetensors?ms=60&chunk=${32 * KiB}`;
    const aliases = files
      .slice(0, 4)
      .map((f, i) => ({ ...item(f), kind: MODEL_KINDS[(i + 1) % 3]!, name: `alias-${f.name}` }));
    const [a, b] = apis as [(typeof apis)[0], (typeof apis)[0]];

    const [batchA, batchB, ...singles] = await Promise.all([
      call(a.url, 'POST', '/v1/batches', { items: files.map(item) }),
      call(b.url, 'POST', '/v1/batches', { items: [...files].reverse().map(item) }),
      ...files.map((f, i) => call((i % 2 ? a : b).url, 'POST', '/v1/fetch', item(f))),
    ]);
    for (const [i, alias] of aliases.entries()) {
      const original = batchA.body.jobs[i].jobId as string;
      await expect
        .poll(async () => (await call(a.url, 'GET', `/v1/jobs/${original}`)).body.status, {
          timeout: 30_000,
          interval: 20,
        })
        .not.toBe('queued');
      singles.push(await call((i % 2 ? b : a).url, 'POST', '/v1/fetch', alias));
    }
    expect([batchA.status, batchB.status]).toEqual([202, 202]);
    for (const single of singles) expect([200, 202]).toContain(single.status);

    const doneA = await call(a.url, 'GET', `/v1/batches/${batchA.body.batchId}?wait=50`);
    const doneB = await call(b.url, 'GET', `/v1/batches/${batchB.body.batchId}?wait=50`);
    for (const done of [doneA, doneB])
      expect(done.body).toMatchObject({ done: true, counts: { total: 20, failed: 0 } });
    for (const single of singles) {
      if (single.body.jobId === undefined) continue; // answered `cached` already
      const job = await call(b.url, 'GET', `/v1/jobs/${single.body.jobId}?wait=50`);
      expect(job.body.status).toBe('completed');
    }

    // One download per model, across three workers and two APIs, alias requests included.
    for (const f of files)
      expect({ name: f.name, sent: origin.sent(`${f.name}.safetensors`) }).toEqual({ name: f.name, sent: f.size });
    const volumeState = inspectVolume(volume.dir);
    expect(volumeState).toEqual({
      badEntries: [],
      unlisted: [],
      staging: [],
      entries: [
        ...files.map((f) => `${KIND_DIRS[f.kind]}/${f.name}`),
        ...aliases.map((al) => `${KIND_DIRS[al.kind]}/${al.name}`),
      ].sort(),
    });
    // Each alias became a link to its original's file: at once by the API when the original was
    // already there, else by whichever worker ran its job (the log line comes through a pipe, so
    // it may trail the job's completion).
    const linkedByApi = singles.filter((single) => single.body.status === 'linked').length;
    const linked = () =>
      linkedByApi +
      [...workers.values()]
        .flatMap((w) => w.logs)
        .filter((l) => l.includes('same content already on the volume: no download')).length;
    await expect.poll(linked, { timeout: 5000 }).toBe(aliases.length);
    // Both APIs read the same registry.
    for (const api of apis) {
      const listed = await call(api.url, 'GET', '/v1/models');
      expect(listed.status).toBe(200);
    }
    // The work was spread: the jobs were run by more than one of the workers, and only by them.
    const jobs = await queue.getJobs(['completed']);
    const ranBy = new Set(jobs.map((j) => j.processedBy));
    expect([...ranBy].every((n) => n !== undefined && workers.has(n))).toBe(true);
    expect(ranBy.size).toBeGreaterThan(1);
  });

  it('finishes everything when one worker is SIGKILLed mid-download: its jobs resume on the others', async () => {
    // Large enough that what the killed worker had received but not yet written (up to 1 MiB
    // buffered, plus the socket's buffers on a busy machine) stays within the 10 % allowance.
    const size = 40 * MiB;
    const big = Array.from({ length: 4 }, (_, i) => {
      const name = `big${i}`;
      const file = origin.addFile(`${name}.safetensors`, size);
      return { name, file, url: `${origin.url}/slow/${name}.safetensors?ms=20&chunk=${256 * KiB}` };
    });
    const created = await Promise.all(
      big.map((f, i) =>
        call(apis[i % 2]!.url, 'POST', '/v1/fetch', {
          kind: 'checkpoint',
          name: f.name,
          url: f.url,
          sha256: f.file.sha256,
        }),
      ),
    );
    const jobIds = created.map((c) => c.body.jobId as string);
    expect(jobIds.every(Boolean)).toBe(true);

    // A worker holding a download that has made progress but is far from done.
    const victim = await until(async () => {
      for (const id of jobIds) {
        const job = await queue.getJob(id);
        const bytes = (job?.progress as { bytes?: number } | undefined)?.bytes ?? 0;
        if (job?.processedBy && (await job.getState()) === 'active' && bytes > 2 * MiB && bytes < size / 2)
          return { id, worker: job.processedBy };
      }
      return undefined;
    }, 30_000);
    const killedJobs = [];
    for (const id of jobIds) {
      const job = await queue.getJob(id);
      if (job?.processedBy === victim.worker && (await job.getState()) === 'active') killedJobs.push(id);
    }
    await workers.get(victim.worker)!.stop('SIGKILL');
    workers.delete(victim.worker);

    for (const [i, id] of jobIds.entries()) {
      const done = await call(apis[i % 2]!.url, 'GET', `/v1/jobs/${id}?wait=55`);
      expect({ id, status: done.body.status }).toEqual({ id, status: 'completed' });
    }
    for (const id of killedJobs) {
      const job = await queue.getJob(id);
      // Resumed by a surviving worker, from the staging file the killed one left.
      expect(workers.has(job!.processedBy!)).toBe(true);
    }
    const resumedLogs = [...workers.values()].flatMap((w) => w.logs).join('\n');
    expect(resumedLogs).toContain('resuming download');
    for (const f of big) {
      const sent = origin.sent(`${f.name}.safetensors`);
      expect(sent).toBeGreaterThanOrEqual(size);
      expect(sent).toBeLessThanOrEqual(size * 1.1);
    }
    const state = inspectVolume(volume.dir);
    expect(state.badEntries).toEqual([]);
    expect(state.unlisted).toEqual([]);
    expect(state.staging).toEqual([]);
    expect(state.entries).toEqual(expect.arrayContaining(big.map((f) => `checkpoints/${f.name}`)));
    expect(readdirSync(path.join(volume.dir, 'checkpoints')).filter((n) => n.startsWith('big'))).toHaveLength(4);
  });
});
