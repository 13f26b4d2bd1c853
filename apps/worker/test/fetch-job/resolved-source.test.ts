import { readFileSync } from 'node:fs';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceRecord } from '@model-manager/core';
import { RetryableJobError } from '../../src/fetch-job/job-errors.js';
import { numberedModels } from '../support/numbered-models.js';
import { processorSetup } from '../support/processor-setup.js';

// A job the API resolved from a host's metadata carries the file's size and where it comes
// from: the size is used before the first byte, the source lands in the registry entry.
const MiB = 1024 * 1024;
const setup = processorSetup('resolved');
const { origin } = setup;
const processor = setup.processor({ MAX_MODEL_BYTES: 2 * MiB });
const civitai: SourceRecord = { host: 'civitai', versionId: 135867, modelId: 1234, fileId: 98765 };
const { model, requestsFor } = numberedModels(origin, 'r');
const registryEntry = (name: string) =>
  JSON.parse(readFileSync(`${setup.config.modelsDir}/cache_registry.json`, 'utf8')).loras[name];

beforeAll(() => setup.start());
afterAll(() => setup.stop());

describe('a job with the size the host published', () => {
  it('over MAX_MODEL_BYTES: fails with TOO_LARGE at once, not retried, no request made', async () => {
    const { data } = model();
    const job = await setup.addJob({ ...data, expectedSize: 2 * MiB + 1 });
    const failure = processor(job);
    await expect(failure).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failure).rejects.toThrow(/^TOO_LARGE: the host says the file is 2097153 bytes/);
    expect(requestsFor(data.name)).toEqual([]);
  });

  it('another size than the origin serves: SIZE_MISMATCH, retried', async () => {
    const { data } = model();
    const job = await setup.addJob({ ...data, expectedSize: MiB + 1 });
    const failure = processor(job);
    await expect(failure).rejects.toBeInstanceOf(RetryableJobError);
    await expect(failure).rejects.toThrow(/^SIZE_MISMATCH: the origin says the file is 1048576 bytes/);
  });

  it('the right size: downloaded as always', async () => {
    const { file, data } = model();
    const job = await setup.addJob({ ...data, expectedSize: MiB, sha256: file.sha256 });
    expect(await processor(job)).toMatchObject({ fileSize: MiB, sha256: file.sha256 });
  });
});

describe('where the file came from', () => {
  it("is recorded in the model's registry entry and shown in the Model", async () => {
    const { file, data } = model();
    const job = await setup.addJob({ ...data, sha256: file.sha256, expectedSize: MiB, source: civitai });
    expect(await processor(job)).toMatchObject({ name: data.name, source: civitai });
    expect(registryEntry(data.name).source).toEqual(civitai);
  });

  it('and for the same bytes linked under another name, the new request’s source', async () => {
    const { file, data } = model();
    await processor(await setup.addJob({ ...data, sha256: file.sha256 }));
    const other = { ...civitai, versionId: 135868 };
    const twin = await setup.addJob({ ...data, name: `${data.name}-twin`, sha256: file.sha256, source: other });
    expect(await processor(twin)).toMatchObject({ source: other });
    expect(registryEntry(`${data.name}-twin`).source).toEqual(other);
  });
});
