import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME } from '@model-manager/core';
import { type FakeHosts, startFakeHosts } from '@model-manager/fake-hosts';
import { runCli } from '../support/cli.js';
import { call, REDIS_URL, type Service, startService } from '../support/service.js';
import { dropVolumeKeys } from '../support/volume-keys.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const { input } = JSON.parse(readFileSync(path.join(fixtures, 'old-module-example-request.json'), 'utf8')) as {
  input: {
    prompt: string;
    checkpoint: { name: string; url: string };
    loras: Array<{ name: string; url: string; scale: number }>;
  };
};
const versionOf = (url: string) => Number(new URL(url).pathname.split('/').pop());
const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('Hugging Face and Civitai references, resolved before the first byte (fake hosts)', () => {
  let hosts: FakeHosts;
  let svc: Service;
  /** What the fake Civitai publishes for a version: the primary file's SHA-256 (lower case) and name. */
  const published = async (versionId: number) => {
    const res = await fetch(`${hosts.civitai.url}/api/v1/model-versions/${versionId}`);
    const version = (await res.json()) as {
      files: Array<{ primary?: boolean; name: string; hashes: { SHA256: string } }>;
    };
    const file = version.files.find((f) => f.primary) ?? version.files[0]!;
    return { sha256: file.hashes.SHA256.toLowerCase(), name: file.name };
  };
  const storageGets = () => hosts.storage.requests.filter((r) => r.method === 'GET').length;

  beforeAll(async () => {
    hosts = await startFakeHosts({ catalog: 'example' });
    svc = await startService('sources', {
      ...hosts.env,
      DOWNLOAD_ATTEMPTS: '2',
      DOWNLOAD_BACKOFF_MS: '100',
      CLEANUP_CRON: 'off',
      MIN_FREE_BYTES: '0',
      // The example checkpoint (24 MiB) is then fetched in pieces.
      SEGMENT_MIN_BYTES: String(1024 * 1024),
    });
  });
  afterAll(async () => {
    if (svc) {
      await dropVolumeKeys(svc.modelsDir);
      await svc.stop();
    }
    await hosts?.close();
  });

  it('completes the old module’s example request (nine LoRAs and a checkpoint by URL, no hashes), every file the host’s bytes', async () => {
    const before = hosts.civitai.metadataCalls();
    // The models as the handler names them: public civitai.com URLs, read as the versions they name.
    const { checkpoint, loras, prompt } = input;
    const res = await call(svc.apiUrl, 'POST', '/v1/prepare?wait=120', { checkpoint, loras, prompt });
    expect(res.status).toBe(200);
    expect(res.body.failed).toEqual([]);
    expect(res.body.unverified).toEqual([]);
    expect(res.body.loras).toHaveLength(9);
    expect(res.body.downloaded).toHaveLength(10);
    // One metadata call per distinct file (each answer is then cached).
    expect(hosts.civitai.metadataCalls() - before).toBe(10);
    const asked = [input.checkpoint, ...input.loras];
    const paths = [res.body.checkpointPath, ...res.body.loras.map((l: { path: string }) => l.path)];
    for (const [i, model] of asked.entries()) {
      const host = await published(versionOf(model.url));
      expect(sha256Of(paths[i]), model.name).toBe(host.sha256);
      const shown = await call(
        svc.apiUrl,
        'GET',
        `/v1/models/${i === 0 ? 'checkpoint' : 'lora'}/${encodeURIComponent(model.name)}`,
      );
      expect(shown.body.source, model.name).toMatchObject({ host: 'civitai', versionId: versionOf(model.url) });
    }
    // The segmented checkpoint followed Civitai's redirect once; its pieces went to storage.
    const redirects = hosts.civitai.requests.filter(
      (r) => r.path === `/api/download/models/${versionOf(input.checkpoint.url)}`,
    );
    expect(redirects).toHaveLength(1);
    const pieces = hosts.storage.requests.filter((r) => r.range !== undefined);
    expect(pieces.length).toBeGreaterThan(1);
  });

  it('answers the same bytes under a new name at once: linked, with no storage request and no job', async () => {
    const gets = storageGets();
    const res = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'embedding',
      name: 'Hand Detail, again',
      source: `civitai:${versionOf(input.loras[0]!.url)}`,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'linked', verified: true });
    expect(res.body.jobId).toBeUndefined();
    expect(storageGets()).toBe(gets);
    const original = statSync(path.join(svc.modelsDir, 'loras', `${input.loras[0]!.name}.safetensors`));
    const linked = statSync(res.body.model.path);
    expect(linked.ino).toBe(original.ino);
  });

  it('takes civitai:, AIR and hf: references, with and without a name', async () => {
    hosts.civitai.addVersion({
      versionId: 880001,
      modelId: 8800,
      files: [{ name: 'tiny_style.safetensors', size: 70_000 }],
    });
    hosts.civitai.addVersion({
      versionId: 880002,
      modelId: 8801,
      files: [{ name: 'air_style.safetensors', size: 50_000 }],
    });
    const cases = [
      [{ kind: 'lora', source: 'civitai:880001' }, 'tiny_style'],
      [{ kind: 'lora', name: 'by AIR', source: 'urn:air:sdxl:lora:civitai:8801@880002' }, 'by AIR'],
      [{ kind: 'checkpoint', source: 'hf:stabilityai/sdxl-vae/sdxl_vae.safetensors' }, 'sdxl_vae'],
    ] as const;
    for (const [body, name] of cases) {
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', body);
      expect(res.status, body.source).toBe(200);
      expect(res.body, body.source).toMatchObject({ status: 'completed', verified: true, model: { name } });
    }
    const hf = await call(svc.apiUrl, 'GET', '/v1/models/checkpoint/sdxl_vae');
    expect(hf.body.source).toMatchObject({ host: 'huggingface', repo: 'stabilityai/sdxl-vae', revision: 'main' });
    expect(hf.body.source.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses bytes that are not the host’s: HASH_MISMATCH, nothing published', async () => {
    const [file] = hosts.civitai.addVersion({
      versionId: 880003,
      modelId: 8802,
      files: [{ name: 'tampered.safetensors', size: 40_000 }],
    });
    hosts.storage.tamper(file!, Buffer.alloc(40_000, 7));
    const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', { kind: 'lora', source: 'civitai:880003' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('HASH_MISMATCH');
    expect((await call(svc.apiUrl, 'GET', '/v1/models/lora/tampered')).status).toBe(404);
  });

  it('downloads unverified when the metadata is down, and says so', async () => {
    hosts.civitai.addVersion({
      versionId: 880004,
      modelId: 8803,
      files: [{ name: 'offline.safetensors', size: 30_000 }],
    });
    hosts.civitai.down = true;
    try {
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=60', {
        kind: 'lora',
        name: 'offline',
        source: 'civitai:880004',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'completed', verified: false });
      expect(res.body.unverifiedReason).toMatch(/Civitai/);
      // /v1/prepare lists such models, with the reason.
      hosts.civitai.addVersion({
        versionId: 880007,
        modelId: 8806,
        files: [{ name: 'offline_too.safetensors', size: 30_000 }],
      });
      const prepared = await call(svc.apiUrl, 'POST', '/v1/prepare?wait=60', {
        loras: [{ name: 'offline too', source: 'civitai:880007', scale: 1 }],
      });
      expect(prepared.body.loras).toHaveLength(1);
      expect(prepared.body.unverified).toEqual([
        { kind: 'lora', name: 'offline too', reason: expect.stringMatching(/Civitai/) },
      ]);
      const queue = new Queue(QUEUE_NAME, { connection: new Redis(REDIS_URL), prefix: svc.prefix });
      try {
        const { logs } = await queue.getJobLogs(res.body.jobId);
        expect(logs.join('\n')).toMatch(/not verified: .*Civitai/);
      } finally {
        await queue.close();
        await (await queue.client).quit();
      }
    } finally {
      hosts.civitai.down = false;
    }
  });

  it('makes one metadata call for 100 batch items of one file', async () => {
    hosts.civitai.addVersion({
      versionId: 880005,
      modelId: 8804,
      files: [{ name: 'popular.safetensors', size: 20_000 }],
    });
    const before = hosts.civitai.metadataCalls();
    const items = Array.from({ length: 100 }, (_, i) => ({
      kind: 'lora',
      name: `popular ${i}`,
      source: 'civitai:880005',
    }));
    const created = await call(svc.apiUrl, 'POST', '/v1/batches', { items });
    expect(created.status).toBe(202);
    expect(hosts.civitai.metadataCalls() - before).toBe(1);
    expect(created.body.jobs.every((j: { verified: boolean }) => j.verified)).toBe(true);
  });

  it('fetches by reference from the CLI: model-manager fetch lora civitai:ID --wait', async () => {
    hosts.civitai.addVersion({
      versionId: 880006,
      modelId: 8805,
      files: [{ name: 'cli_style.safetensors', size: 25_000 }],
    });
    const run = await runCli(['fetch', 'lora', 'civitai:880006', '--wait'], { API_URL: svc.apiUrl });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('cli_style');
    const host = await published(880006);
    expect(sha256Of(path.join(svc.modelsDir, 'loras', 'cli_style.safetensors'))).toBe(host.sha256);
  });
});
