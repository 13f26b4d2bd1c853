import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics } from '../support/metrics.js';
import { TestOrigin } from '../support/origin.js';
import { call, startService, tempModelsDir, type Service } from '../support/service.js';
import { registryOf } from '../support/volume.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A registry written by hand or by another tool: dates as ISO strings, numbers as strings, fields
 * and top-level keys the service does not know, and one entry that makes no sense at all.
 */
const isoBody = Buffer.alloc(2048, 'i');
const brokenBody = Buffer.alloc(1024, 'b');
const foreign = {
  checkpoints: {},
  loras: {
    'Iso Dated': {
      url: 'https://civitai.com/api/download/models/1',
      path: '/workspace/models/loras/Iso Dated.safetensors',
      hash: sha(isoBody),
      downloaded_at: '2024-11-27T08:00:00Z',
      last_used: '2024-11-28T08:00:00.500Z',
      usage_count: '3',
      file_size: '2048',
      civitai: { modelId: 5, tags: ['detail'] },
    },
    // Only the date is foreign: everything else as the format has it.
    'Iso Only': {
      url: 'https://civitai.com/api/download/models/3',
      path: '/workspace/models/loras/Iso Only.safetensors',
      hash: sha(isoBody),
      downloaded_at: '2024-11-27T08:00:00+01:00',
      last_used: 1732694400,
      usage_count: 0,
      file_size: 2048,
    },
    Broken: {
      url: 'https://civitai.com/api/download/models/2',
      path: 42,
      hash: 'x',
      file_size: 'lots',
      downloaded_at: 'yesterday',
    },
  },
  embeddings: {},
  last_updated: '2024-11-28T08:00:00Z',
  webui: { sampler: 'DPM++ 2M Karras' },
};

describe('a registry with ISO-string dates, numbers as strings and a broken entry', () => {
  const origin = new TestOrigin();
  const volume = tempModelsDir();
  let svc: Service;

  beforeAll(async () => {
    await origin.start();
    mkdirSync(path.join(volume.dir, 'loras'), { recursive: true });
    writeFileSync(path.join(volume.dir, 'loras', 'Iso Dated.safetensors'), isoBody);
    writeFileSync(path.join(volume.dir, 'loras', 'Iso Only.safetensors'), isoBody);
    writeFileSync(path.join(volume.dir, 'loras', 'Broken.safetensors'), brokenBody);
    writeFileSync(path.join(volume.dir, 'cache_registry.json'), JSON.stringify(foreign, null, 2));
    svc = await startService('foreign-registry', { MODELS_DIR: volume.dir });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
    volume.remove();
  });

  it('serves the entry with the dates and numbers they mean, and the broken one as absent, never a 5xx', async () => {
    const isoOnly = await call(svc.apiUrl, 'GET', `/v1/models/lora/${encodeURIComponent('Iso Only')}`);
    expect(isoOnly.status).toBe(200);
    expect(isoOnly.body.downloadedAt).toBe('2024-11-27T07:00:00.000Z');
    const one = await call(svc.apiUrl, 'GET', `/v1/models/lora/${encodeURIComponent('Iso Dated')}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      name: 'Iso Dated',
      fileSize: 2048,
      usageCount: 3,
      downloadedAt: '2024-11-27T08:00:00.000Z',
      lastUsed: '2024-11-28T08:00:00.500Z',
    });
    expect((await call(svc.apiUrl, 'GET', '/v1/models/lora/Broken')).status).toBe(404);
    const all = await call(svc.apiUrl, 'GET', '/v1/models');
    expect(all.status).toBe(200);
    expect(all.body.models.map((m: { name: string }) => m.name)).toEqual(['Iso Dated', 'Iso Only']);
    expect((await call(svc.apiUrl, 'GET', '/v1/stats')).status).toBe(200);

    const hit = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'Iso Dated',
      url: `${origin.url}/files/none`,
      sha256: sha(isoBody),
    });
    expect(hit.status).toBe(200);
    expect(hit.body.status).toBe('cached');
    const prepared = await call(svc.apiUrl, 'POST', '/v1/prepare', {
      loras: [{ name: 'Iso Dated', url: `${origin.url}/files/none` }],
    });
    expect(prepared.status).toBe(200);
    expect(origin.hitCount('/files/none')).toBe(0);
  });

  it('reports the broken entry in the scan result and in a metric, and skips its file rather than adopting it', async () => {
    const queued = await call(svc.apiUrl, 'POST', '/v1/scan', {});
    const done = await call(svc.apiUrl, 'GET', `/v1/jobs/${queued.body.jobId}?wait=60`);
    expect(done.body.status).toBe('completed');
    expect(done.body.result.adopted).toEqual([]);
    expect(done.body.result.unreadable).toEqual([
      { kind: 'lora', name: 'Broken', reason: expect.stringContaining('path') },
    ]);
    expect(done.body.result.skipped).toEqual([
      { kind: 'lora', file: 'Broken.safetensors', reason: expect.stringContaining('unreadable') },
    ]);

    const metrics = await fetch(`${svc.apiUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(parseMetrics(await metrics.text()).get('model_manager_registry_unreadable_entries{kind="lora"}')).toBe(1);
  });

  it('keeps unknown fields, unknown top-level keys and the broken entry as they are when it writes the file', async () => {
    await expect
      .poll(() => registryOf(volume.dir).loras['Iso Dated'].usage_count, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(4);
    const written = registryOf(volume.dir);
    expect(written.webui).toEqual(foreign.webui);
    expect(written.loras.Broken).toEqual(foreign.loras.Broken);
    // Fields of the format are written back as the numbers they were read as.
    expect(written.loras['Iso Dated']).toMatchObject({
      civitai: foreign.loras['Iso Dated'].civitai,
      downloaded_at: Date.parse('2024-11-27T08:00:00Z') / 1000,
      file_size: 2048,
      path: '/workspace/models/loras/Iso Dated.safetensors',
    });
  });
});
