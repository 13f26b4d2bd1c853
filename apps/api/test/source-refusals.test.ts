import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeHosts, startFakeHosts } from '@model-manager/fake-hosts';
import { type InProcessApi, startInProcessApi } from '../../../test/support/in-process-api.js';

// What the hosts' metadata refuses is answered before anything is queued: these run the API
// alone (no worker), against the fake Hugging Face and Civitai, and check the queue stays empty.

const TOKEN = 'civitai-token-0123456789';

describe('refusals known from the host before queueing', () => {
  let hosts: FakeHosts;
  let api: InProcessApi;
  let strict: InProcessApi;

  beforeAll(async () => {
    hosts = await startFakeHosts({ catalog: 'example' });
    hosts.civitai.addVersion({ versionId: 777001, modelId: 7770, files: [{ name: 'early.safetensors', size: 4096 }] });
    hosts.civitai.gate(777001, TOKEN);
    hosts.hf.addFile('acme/private-model', 'weights.safetensors', 4096);
    hosts.hf.gate('acme/private-model', 'hf-token-0123456789');
    const env = { ...hosts.env, METADATA_TIMEOUT_MS: '400' };
    api = await startInProcessApi('refusals', env);
    strict = await startInProcessApi('refusals-strict', { ...env, REQUIRE_VERIFIED: 'true' });
  });
  afterAll(async () => {
    await api?.close();
    await strict?.close();
    await hosts?.close();
  });

  const fetchModel = (body: object, target = api) => request(target.app).post('/v1/fetch').send(body);
  const queued = async (target = api) => (await target.ctx.queue.getJobCounts()) as Record<string, number>;
  const nothingQueued = async (target = api) => {
    const counts = await queued(target);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  };

  it('a gated Civitai version without CIVITAI_TOKEN: 422 AUTH_REQUIRED naming the setting', async () => {
    const res = await fetchModel({ kind: 'lora', source: 'civitai:777001' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('AUTH_REQUIRED');
    expect(res.body.error.message).toContain('CIVITAI_TOKEN');
    await nothingQueued();
  });

  it('a gated Hugging Face repository without HF_TOKEN: 422 AUTH_REQUIRED', async () => {
    const res = await fetchModel({ kind: 'checkpoint', source: 'hf:acme/private-model/weights.safetensors' });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(res.body.error.message).toContain('HF_TOKEN');
    await nothingQueued();
  });

  it('a version, repository or file the host does not know: 404 SOURCE_NOT_FOUND', async () => {
    for (const body of [
      { kind: 'lora', source: 'civitai:999999999' },
      { kind: 'lora', url: `${hosts.civitai.url}/api/download/models/999999998` },
      { kind: 'lora', source: 'hf:stabilityai/sdxl-vae/no-such-file.safetensors' },
      { kind: 'lora', source: 'hf:stabilityai/sdxl-vae/sdxl_vae.safetensors@no-such-branch' },
    ]) {
      const res = await fetchModel(body);
      expect(res.status, JSON.stringify(body)).toBe(404);
      expect(res.body.error.code).toBe('SOURCE_NOT_FOUND');
    }
    await nothingQueued();
  });

  it('a sha256 that is not the host’s: 409 HASH_CONFLICT naming both', async () => {
    const given = 'ab'.repeat(32);
    const res = await fetchModel({ kind: 'lora', name: 'detail', source: 'civitai:87153', sha256: given });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('HASH_CONFLICT');
    expect(res.body.error.details.given).toBe(given);
    expect(res.body.error.details.host).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.error.message).toContain(res.body.error.details.host.slice(0, 12));
    await nothingQueued();
  });

  it('refuses per item in a batch and in prepare, and queues the rest', async () => {
    const batch = await request(api.app)
      .post('/v1/batches')
      .send({
        items: [
          { kind: 'lora', source: 'civitai:999999999' },
          { kind: 'lora', name: 'eyes', source: 'civitai:402010' },
        ],
      });
    expect(batch.status).toBe(202);
    expect(batch.body.jobs[0]).toMatchObject({ status: 'failed', error: { code: 'SOURCE_NOT_FOUND' } });
    expect(batch.body.jobs[1]).toMatchObject({ name: 'eyes', status: 'queued', verified: true });
    const prepare = await request(api.app)
      .post('/v1/prepare?wait=0')
      .send({ loras: [{ source: 'civitai:777001', scale: 0.5 }] });
    expect(prepare.status).toBe(200);
    expect(prepare.body.failed).toEqual([
      { kind: 'lora', name: 'civitai:777001', error: { code: 'AUTH_REQUIRED', message: expect.any(String) } },
    ]);
    await api.ctx.queue.obliterate({ force: true });
  });

  it('metadata down, slow or malformed: queued unverified, with the reason', async () => {
    for (const [fault, set, unset] of [
      ['down', () => (hosts.civitai.down = true), () => (hosts.civitai.down = false)],
      ['slow', () => (hosts.civitai.metadataDelayMs = 2000), () => (hosts.civitai.metadataDelayMs = 0)],
      ['malformed', () => (hosts.civitai.malformed = true), () => (hosts.civitai.malformed = false)],
    ] as const) {
      set();
      try {
        const res = await fetchModel({ kind: 'lora', name: `unverified-${fault}`, source: 'civitai:241813' });
        expect(res.status, fault).toBe(202);
        expect(res.body, fault).toMatchObject({ status: 'queued', verified: false });
        expect(res.body.unverifiedReason, fault).toMatch(/Civitai/);
        // REQUIRE_VERIFIED refuses the same request instead.
        const refused = await fetchModel({ kind: 'lora', name: `strict-${fault}`, source: 'civitai:241813' }, strict);
        expect(refused.status, fault).toBe(422);
        expect(refused.body.error.code, fault).toBe('UNVERIFIED');
      } finally {
        unset();
      }
    }
    await nothingQueued(strict);
    await api.ctx.queue.obliterate({ force: true });
  });

  it('REQUIRE_VERIFIED takes a plain URL only with its sha256', async () => {
    const plain = { kind: 'lora', name: 'plain', url: 'https://huggingface.co/plain.safetensors' };
    const refused = await fetchModel(plain, strict);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('UNVERIFIED');
    const taken = await fetchModel({ ...plain, sha256: 'cd'.repeat(32) }, strict);
    expect(taken.status).toBe(202);
    expect(taken.body.verified).toBe(true);
    await strict.ctx.queue.obliterate({ force: true });
  });

  it('counts each metadata lookup by host and result for /metrics', async () => {
    const res = await request(api.app).get('/metrics');
    expect(res.status).toBe(200);
    const value = (host: string, result: string) =>
      Number(
        new RegExp(`^model_manager_source_metadata_total\\{host="${host}",result="${result}"\\} (\\d+)$`, 'm').exec(
          res.text,
        )?.[1],
      );
    // Earlier in this file, on this API: three lookups with Civitai down, slow or malformed.
    expect(value('civitai', 'unavailable')).toBe(3);
    expect(value('civitai', 'fetched')).toBeGreaterThanOrEqual(2);
    expect(value('civitai', 'refused')).toBeGreaterThanOrEqual(3);
    expect(value('huggingface', 'refused')).toBeGreaterThanOrEqual(3);
    expect(value('huggingface', 'unavailable')).toBe(0);
  });
});
