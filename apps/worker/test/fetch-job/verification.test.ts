import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceRecord } from '@model-manager/core';
import { numberedModels } from '../support/numbered-models.js';
import { processorSetup } from '../support/processor-setup.js';

// What a job's log tells its users about the file's SHA-256, and REQUIRE_VERIFIED as the
// worker's own defence for jobs that never passed the API's check.
const setup = processorSetup('verification');
const { origin } = setup;
const source: SourceRecord = { host: 'huggingface', repo: 'org/repo', revision: 'main', path: 'v.safetensors' };
const { model, requestsFor } = numberedModels(origin, 'v');

beforeAll(() => setup.start());
afterAll(() => setup.stop());

describe('the job log says whether the file was verified', () => {
  const processor = setup.processor();

  it('without a sha256: the hash, not verified, and why', async () => {
    const { file, data } = model();
    const job = await setup.addJob({ ...data, unverifiedReason: 'Civitai publishes no SHA-256 for this file' });
    await processor(job);
    expect(await setup.logs(job)).toContain(
      `sha256 ${file.sha256} (not verified: Civitai publishes no SHA-256 for this file)`,
    );
  });

  it('without a sha256 or a reason: "no expected hash given"', async () => {
    const { file, data } = model();
    const job = await setup.addJob(data);
    await processor(job);
    expect(await setup.logs(job)).toContain(`sha256 ${file.sha256} (not verified: no expected hash given)`);
  });

  it("with the host's sha256 (a source): verified against the host's hash", async () => {
    const { file, data } = model();
    const job = await setup.addJob({ ...data, sha256: file.sha256, source });
    await processor(job);
    expect(await setup.logs(job)).toContain(`sha256 verified against the host's hash: ${file.sha256}`);
  });

  it("with the caller's sha256: verified", async () => {
    const { file, data } = model();
    const job = await setup.addJob({ ...data, sha256: file.sha256 });
    await processor(job);
    expect(await setup.logs(job)).toContain(`sha256 verified: ${file.sha256}`);
  });
});

describe('REQUIRE_VERIFIED', () => {
  const processor = setup.processor({ REQUIRE_VERIFIED: true });

  it('fails a job without a sha256 at once with UNVERIFIED, not retried, before any request', async () => {
    const { data } = model();
    const job = await setup.addJob({ ...data, unverifiedReason: 'metadata unavailable: timeout' });
    const failure = processor(job);
    await expect(failure).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failure).rejects.toThrow(
      'UNVERIFIED: no SHA-256 is known for this file before its download (metadata unavailable: timeout) and REQUIRE_VERIFIED is on; give its sha256',
    );
    expect(requestsFor(data.name)).toEqual([]);
    expect((await setup.logs(job)).some((line) => line.startsWith('refused: UNVERIFIED: '))).toBe(true);
    expect(await setup.registry.model('lora', data.name)).toBeUndefined();
  });

  it('fetches a job with a sha256 as always', async () => {
    const { file, data } = model();
    const job = await setup.addJob({ ...data, sha256: file.sha256 });
    expect(await processor(job)).toMatchObject({ name: data.name, sha256: file.sha256 });
  });

  it('still answers a model already on the volume without downloading it', async () => {
    const { data } = model();
    await setup.processor()(await setup.addJob(data));
    const before = requestsFor(data.name).length;
    expect(await processor(await setup.addJob(data))).toMatchObject({ name: data.name });
    expect(requestsFor(data.name)).toHaveLength(before);
  });
});
