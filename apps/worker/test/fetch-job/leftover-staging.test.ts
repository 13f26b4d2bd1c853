import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FETCH_MODEL_JOB, STAGING_DIR, fetchJobData, type ModelRef } from '@model-manager/core';
import { StagingFile } from '../../src/download/staging/staging-file.js';
import { writeStagingMeta } from '../../src/download/staging/staging-meta.js';
import { processorSetup } from '../support/processor-setup.js';

// A job whose retry finds the model already there (a cache hit, or the same bytes under
// another name) must not leave the earlier attempt's staging file behind in .incoming/.
const MiB = 1024 * 1024;
const setup = processorSetup('leftover');
const { origin, queue } = setup;
const processor = setup.processor();

beforeAll(() => setup.start());
afterAll(() => setup.stop());

/** A job whose earlier attempt left a partial staging file and its metadata. */
async function jobWithLeftovers(ref: ModelRef): Promise<{ job: Job; staging: StagingFile }> {
  const job = await queue.add(FETCH_MODEL_JOB, fetchJobData(ref));
  const staging = new StagingFile(
    path.join(setup.config.modelsDir, STAGING_DIR),
    StagingFile.keyFor(setup.prefix, job.id!),
  );
  writeFileSync(staging.partPath, Buffer.alloc(4096));
  await writeStagingMeta(staging, { url: ref.url, sourceIndex: 0, deadSources: [] }, { etag: '"x"', totalBytes: MiB });
  return { job, staging };
}

describe('a retry satisfied without downloading removes the earlier attempt’s staging file', () => {
  const file = () => origin.files.get('kept.safetensors')!;
  const ref = (): ModelRef => ({
    kind: 'lora',
    name: 'kept',
    url: `${origin.url}/files/kept.safetensors`,
    sha256: file().sha256,
  });

  it('on a cache hit', async () => {
    origin.addFile('kept.safetensors', MiB);
    await processor(await queue.add(FETCH_MODEL_JOB, fetchJobData(ref())));
    const { job, staging } = await jobWithLeftovers(ref());
    const model = await processor(job);
    expect(model).toMatchObject({ kind: 'lora', name: 'kept' });
    expect(existsSync(staging.partPath)).toBe(false);
    expect(existsSync(staging.metaPath)).toBe(false);
  });

  it('on the same content linked from another name', async () => {
    const { job, staging } = await jobWithLeftovers({ ...ref(), name: 'twin' });
    const model = await processor(job);
    expect(model).toMatchObject({ kind: 'lora', name: 'twin' });
    expect(existsSync(staging.partPath)).toBe(false);
    expect(existsSync(staging.metaPath)).toBe(false);
  });
});
