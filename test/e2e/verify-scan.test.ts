import { createHash } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAINTENANCE_QUEUE } from '@model-manager/core';
import { type FakeHosts, startFakeHosts } from '@model-manager/fake-hosts';
import { TestOrigin } from '../support/origin.js';
import { call, REDIS_URL, repoRoot, startService, tempModelsDir, type Service } from '../support/service.js';
import { registryOf } from '../support/volume.js';
import { flipLastByte } from '../support/volume-files.js';

const sha256File = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Queues a maintenance job and waits for its answer through GET /v1/jobs/:id?wait=. */
async function runJob(svc: Service, route: '/v1/verify' | '/v1/scan', body: unknown = {}) {
  const queued = await call(svc.apiUrl, 'POST', route, body);
  expect(queued.status).toBe(202);
  expect(queued.body.jobId).toMatch(route === '/v1/verify' ? /^verify-[0-9a-f-]{36}$/ : /^scan-[0-9a-f-]{36}$/);
  const done = await call(svc.apiUrl, 'GET', `/v1/jobs/${queued.body.jobId}?wait=60`);
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('completed');
  return done.body;
}

/** The lines a maintenance job's log shows (Bull Board shows the same). */
async function jobLogs(svc: Service, jobId: string): Promise<string[]> {
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: new Redis(REDIS_URL), prefix: svc.prefix });
  try {
    return (await queue.getJobLogs(jobId)).logs;
  } finally {
    await queue.close();
    await (await queue.client).quit();
  }
}

/** Puts bytes into a kind folder as a person would (cp -p): an old modification time, so scan takes it at once. */
function copyInByHand(svc: Service, folder: string, file: string, body: Buffer): string {
  const target = path.join(svc.modelsDir, folder, file);
  writeFileSync(target, body);
  const anHourAgo = new Date(Date.now() - 3600_000);
  utimesSync(target, anHourAgo, anHourAgo);
  return target;
}

describe('verify and scan, end to end through the real API and worker processes', () => {
  const origin = new TestOrigin();
  let hosts: FakeHosts;
  let svc: Service;

  beforeAll(async () => {
    await origin.start();
    // Scan asks the fake Civitai where the files it adopts come from.
    hosts = await startFakeHosts({ catalog: 'example' });
    svc = await startService('verify', { ...hosts.env, DOWNLOAD_ATTEMPTS: '2' });
  });
  afterAll(async () => {
    await svc?.stop();
    await hosts?.close();
    await origin.close();
  });

  async function fetchModel(kind: string, name: string, file: string, size: number) {
    const body = origin.addFile(file, size);
    const ref = { kind, name, url: `${origin.url}/files/${file}`, sha256: body.sha256 };
    const answer = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', ref);
    expect(answer.status).toBe(200);
    return { ref, body, path: answer.body.model.path as string };
  }

  it('finds a flipped byte, quarantines the file and drops its entry; GET /v1/jobs/:id?wait= shows the job and its result', async () => {
    const model = await fetchModel('checkpoint', 'flipped', 'flipped.safetensors', 1024 * 1024 + 5);
    flipLastByte(model.path);
    const flippedSha = sha256File(model.path);

    const job = await runJob(svc, '/v1/verify', { kind: 'checkpoint', name: 'flipped' });
    expect(job).toMatchObject({
      job: 'verify',
      kind: 'checkpoint',
      name: 'flipped',
      progress: { checked: 1, total: 1 },
      attempts: 1,
    });
    expect(job.model).toBeUndefined();
    const result = job.result;
    expect(result).toMatchObject({
      checked: 1,
      ok: 0,
      mismatched: [{ kind: 'checkpoint', name: 'flipped', expected: model.body.sha256, actual: flippedSha }],
      missing: [],
      refetchJobs: [],
    });
    expect(result.quarantined).toHaveLength(1);
    const moved = result.quarantined[0].path as string;
    expect(path.dirname(moved)).toBe(path.join(svc.modelsDir, '.quarantine', 'checkpoints'));
    expect(path.basename(moved)).toMatch(/^flipped\.safetensors\.\d{8}T\d{6}Z$/);
    expect(sha256File(moved)).toBe(flippedSha);
    expect(existsSync(model.path)).toBe(false);
    expect(registryOf(svc.modelsDir).checkpoints.flipped).toBeUndefined();
    expect((await call(svc.apiUrl, 'GET', '/v1/models/checkpoint/flipped')).status).toBe(404);
  });

  it('with refetch: true, downloads the quarantined model again from its URL, and it is good afterwards', async () => {
    const model = await fetchModel('lora', 'refetched', 'refetched.safetensors', 512 * 1024 + 3);
    expect(origin.sent('refetched.safetensors')).toBe(model.body.body.length);
    flipLastByte(model.path);

    const result = (await runJob(svc, '/v1/verify', { kind: 'lora', refetch: true })).result;
    expect(result.mismatched.map((m: { name: string }) => m.name)).toEqual(['refetched']);
    expect(result.quarantined.map((m: { name: string }) => m.name)).toEqual(['refetched']);
    expect(result.refetchJobs).toHaveLength(1);
    const refetch = await call(svc.apiUrl, 'GET', `/v1/jobs/${result.refetchJobs[0]}?wait=60`);
    expect(refetch.body).toMatchObject({
      status: 'completed',
      kind: 'lora',
      name: 'refetched',
      model: { sha256: model.body.sha256 },
    });
    // A second full download from the origin.
    expect(origin.sent('refetched.safetensors')).toBe(2 * model.body.body.length);
    expect(sha256File(model.path)).toBe(model.body.sha256);

    const again = (await runJob(svc, '/v1/verify', { kind: 'lora', name: 'refetched' })).result;
    expect(again).toMatchObject({ checked: 1, ok: 1, mismatched: [], missing: [], quarantined: [] });
  });

  it('reports a missing file and leaves its entry for scan to drop', async () => {
    const model = await fetchModel('embedding', 'vanished', 'vanished.safetensors', 64 * 1024);
    rmSync(model.path);
    const result = (await runJob(svc, '/v1/verify', { kind: 'embedding' })).result;
    expect(result.missing).toContainEqual({ kind: 'embedding', name: 'vanished' });
    expect(result.quarantined).toEqual([]);
    expect(registryOf(svc.modelsDir).embeddings.vanished).toBeDefined();
  });

  it('scan adopts a hand-copied file (then a cache hit by its sha256), drops entries whose file is gone, reports size drift', async () => {
    const gone = await fetchModel('embedding', 'gone', 'gone.safetensors', 32 * 1024);
    rmSync(gone.path);
    const drift = await fetchModel('lora', 'drifted', 'drifted.safetensors', 48 * 1024);
    appendFileSync(drift.path, Buffer.from('appended by hand'));

    // Copied in by hand, keeping its old modification time (cp -p), beside files scan must skip.
    const source = origin.addFile('handmade.safetensors', 256 * 1024);
    const copyFrom = path.join(svc.modelsDir, 'handmade-source.bin');
    writeFileSync(copyFrom, source.body);
    const handPath = path.join(svc.modelsDir, 'loras', 'hand made.safetensors');
    copyFileSync(copyFrom, handPath);
    rmSync(copyFrom);
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(handPath, anHourAgo, anHourAgo);
    writeFileSync(path.join(svc.modelsDir, 'loras', '.hidden.safetensors'), 'hidden');
    writeFileSync(path.join(svc.modelsDir, 'loras', 'notes.txt'), 'not a model');
    writeFileSync(path.join(svc.modelsDir, 'loras', 'partial.safetensors.part'), 'staging');
    mkdirSync(path.join(svc.modelsDir, 'loras', 'subfolder.safetensors'));

    const job = await runJob(svc, '/v1/scan');
    const result = job.result;
    // Civitai knows no file with its SHA-256: no source, no URL.
    expect(result.adopted).toEqual([
      { kind: 'lora', name: 'hand made', path: handPath, sha256: source.sha256, fileSize: source.body.length },
    ]);
    expect(hosts.civitai.requests.map((r) => r.path)).toContain(
      `/api/v1/model-versions/by-hash/${source.sha256.toUpperCase()}`,
    );
    expect((await jobLogs(svc, job.jobId)).filter((l) => l.includes('origin'))).toEqual([]);
    expect(result.dropped).toContainEqual({ kind: 'embedding', name: 'gone' });
    expect(result.sizeDrift).toEqual([
      { kind: 'lora', name: 'drifted', registered: drift.body.body.length, actual: drift.body.body.length + 16 },
    ]);

    const registry = registryOf(svc.modelsDir);
    expect(registry.embeddings.gone).toBeUndefined();
    expect(registry.loras['hand made']).toMatchObject({
      url: '',
      path: handPath,
      hash: source.sha256,
      file_size: source.body.length,
      usage_count: 0,
      adopted: true,
    });
    // Size drift is reported, never fixed silently.
    expect(registry.loras.drifted.file_size).toBe(drift.body.body.length);

    const hit = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'hand made',
      url: `${origin.url}/files/handmade.safetensors`,
      sha256: source.sha256,
    });
    expect(hit.status).toBe(200);
    expect(hit.body).toMatchObject({ status: 'cached', model: { path: handPath, sha256: source.sha256, url: '' } });
    expect(origin.hitCount('/files/handmade.safetensors')).toBe(0);

    // A second scan finds nothing new to adopt or drop.
    const second = (await runJob(svc, '/v1/scan')).result;
    expect(second.adopted).toEqual([]);
    expect(second.dropped).toEqual([]);
  });

  it("scan learns a hand-copied Civitai file's origin by its SHA-256, so verify with refetch: true downloads it again", async () => {
    // The bytes of the example's "Add More Details!" LoRA, as its download gives them.
    const download = await fetch(`${hosts.civitai.url}/api/download/models/87153`);
    expect(download.status).toBe(200);
    const body = Buffer.from(await download.arrayBuffer());
    const sha256 = createHash('sha256').update(body).digest('hex');
    const copied = copyInByHand(svc, 'loras', 'my details.safetensors', body);

    const job = await runJob(svc, '/v1/scan');
    const source = { host: 'civitai', versionId: 87153, modelId: 82098, fileId: expect.any(Number) };
    expect(job.result.adopted).toEqual([
      { kind: 'lora', name: 'my details', path: copied, sha256, fileSize: body.length, source },
    ]);
    const url = `${hosts.civitai.url}/api/download/models/87153?type=Model&format=SafeTensor&size=full&fp=fp16`;
    expect(registryOf(svc.modelsDir).loras['my details']).toMatchObject({ url, source, hash: sha256, adopted: true });
    expect((await call(svc.apiUrl, 'GET', '/v1/models/lora/my%20details')).body).toMatchObject({ url, source });
    const logs = await jobLogs(svc, job.jobId);
    expect(logs).toContain('lora/my details.safetensors: origin: civitai version 87153 (model 82098)');

    flipLastByte(copied);
    const storageGets = hosts.storage.requests.filter((r) => r.method === 'GET').length;
    const verify = (await runJob(svc, '/v1/verify', { kind: 'lora', name: 'my details', refetch: true })).result;
    expect(verify.quarantined.map((m: { name: string }) => m.name)).toEqual(['my details']);
    expect(verify.refetchJobs).toHaveLength(1);
    const refetch = await call(svc.apiUrl, 'GET', `/v1/jobs/${verify.refetchJobs[0]}?wait=60`);
    expect(refetch.body).toMatchObject({ status: 'completed', model: { path: copied, sha256, url, source } });
    expect(hosts.storage.requests.filter((r) => r.method === 'GET').length).toBeGreaterThan(storageGets);
    expect(sha256File(copied)).toBe(sha256);
    const again = (await runJob(svc, '/v1/verify', { kind: 'lora', name: 'my details' })).result;
    expect(again).toMatchObject({ checked: 1, ok: 1, mismatched: [], quarantined: [] });
  });

  it('scan adopts files without an origin when Civitai is down, saying why once, and completes', async () => {
    const download = await fetch(`${hosts.civitai.url}/api/download/models/241813`);
    const known = copyInByHand(svc, 'loras', 'skin.safetensors', Buffer.from(await download.arrayBuffer()));
    const unknown = origin.addFile('offline-unknown.safetensors', 20_000);
    copyInByHand(svc, 'loras', 'offline unknown.safetensors', unknown.body);
    hosts.civitai.down = true;
    try {
      const job = await runJob(svc, '/v1/scan');
      expect(job.result.adopted.map((m: { name: string }) => m.name).sort()).toEqual(['offline unknown', 'skin']);
      for (const adopted of job.result.adopted) expect(adopted.source).toBeUndefined();
      expect(registryOf(svc.modelsDir).loras.skin).toMatchObject({ url: '', adopted: true, path: known });
      expect(registryOf(svc.modelsDir).loras.skin.source).toBeUndefined();
      const stopped = (await jobLogs(svc, job.jobId)).filter((l) => l.startsWith('origin lookups stopped'));
      expect(stopped).toEqual([
        expect.stringMatching(/^origin lookups stopped, 2 adopted file\(s\) not looked up: .*answered 503$/),
      ]);
    } finally {
      hosts.civitai.down = false;
    }
  });

  it('refuses bad bodies with the usual 400 naming the field, and answers 404 for an unknown model or job', async () => {
    const bad = await call(svc.apiUrl, 'POST', '/v1/verify', { kind: 'vae', refetch: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['kind', 'refetch']);
    const nameOnly = await call(svc.apiUrl, 'POST', '/v1/verify', { name: 'x' });
    expect(nameOnly.status).toBe(400);
    expect(nameOnly.body.error.details).toEqual([{ field: 'kind', message: 'required when name is given' }]);
    const scanBad = await call(svc.apiUrl, 'POST', '/v1/scan', { deep: true });
    expect(scanBad.status).toBe(400);
    expect(scanBad.body.error.code).toBe('INVALID_REQUEST');
    expect((await call(svc.apiUrl, 'POST', '/v1/verify', { kind: 'lora', name: 'nobody' })).status).toBe(404);
    expect((await call(svc.apiUrl, 'GET', '/v1/jobs/verify-00000000-0000-0000-0000-000000000000?wait=1')).status).toBe(
      404,
    );
  });
});

describe('a volume the old Python module wrote', () => {
  it('is adopted as it is: paths under /workspace/models, an upper-case hash verified and written back in lower case', async () => {
    const volume = tempModelsDir();
    let svc: Service | undefined;
    try {
      const fixture = readFileSync(
        path.join(repoRoot, 'packages/registry/test/fixtures/old-module-registry.json'),
        'utf8',
      );
      const old = JSON.parse(fixture);
      const upper = old.checkpoints['old-dreamshaper'].hash as string;
      expect(upper).toBe(upper.toUpperCase());
      mkdirSync(path.join(volume.dir, 'checkpoints'), { recursive: true });
      mkdirSync(path.join(volume.dir, 'loras'), { recursive: true });
      writeFileSync(path.join(volume.dir, 'checkpoints', 'old-dreamshaper.safetensors'), Buffer.alloc(4096, 'a'));
      writeFileSync(path.join(volume.dir, 'loras', 'old-detail.safetensors'), Buffer.alloc(2048, 'b'));
      writeFileSync(path.join(volume.dir, 'cache_registry.json'), fixture);

      svc = await startService('verify-old', { MODELS_DIR: volume.dir });
      const listed = await call(svc.apiUrl, 'GET', '/v1/models?kind=checkpoint');
      expect(listed.body.models).toEqual([
        expect.objectContaining({
          name: 'old-dreamshaper',
          sha256: upper.toLowerCase(),
          usageCount: 7,
          path: path.join(volume.dir, 'checkpoints', 'old-dreamshaper.safetensors'),
        }),
      ]);

      const result = (await runJob(svc, '/v1/verify')).result;
      expect(result).toMatchObject({ checked: 2, ok: 2, mismatched: [], missing: [], quarantined: [] });
      const scan = (await runJob(svc, '/v1/scan')).result;
      expect(scan).toEqual({ adopted: [], dropped: [], sizeDrift: [], skipped: [], unreadable: [] });

      const hit = await call(svc.apiUrl, 'POST', '/v1/fetch', {
        kind: 'checkpoint',
        name: 'old-dreamshaper',
        url: old.checkpoints['old-dreamshaper'].url,
        sha256: upper.toLowerCase(),
      });
      expect(hit.body.status).toBe('cached');
      // The batched hit is the next registry write: the hash goes back lower-case, the rest as the Python module wrote it.
      await expect
        .poll(() => registryOf(volume.dir).checkpoints['old-dreamshaper'].usage_count, { timeout: 15_000 })
        .toBe(8);
      const entry = registryOf(volume.dir).checkpoints['old-dreamshaper'];
      expect(entry).toMatchObject({
        hash: upper.toLowerCase(),
        path: '/workspace/models/checkpoints/old-dreamshaper.safetensors',
        downloaded_at: 1732694400.123456,
      });
      expect(readdirSync(path.join(volume.dir, 'checkpoints'))).toEqual(['old-dreamshaper.safetensors']);
    } finally {
      await svc?.stop();
      volume.remove();
    }
  });
});
