import { describe, expect, it } from 'vitest';
import {
  MAINTENANCE_JOB_ID,
  fetchJobData,
  fetchJobOptions,
  scanRequestSchema,
  verifyRequestSchema,
} from '@model-manager/core';

describe('verify and scan request bodies', () => {
  it('verify takes the whole volume, a kind, or a kind and a name; refetch defaults to false', () => {
    expect(verifyRequestSchema.parse({})).toEqual({ refetch: false });
    expect(verifyRequestSchema.parse({ kind: 'lora' })).toEqual({ kind: 'lora', refetch: false });
    expect(verifyRequestSchema.parse({ kind: 'lora', name: 'detail tweaker', refetch: true })).toEqual({
      kind: 'lora',
      name: 'detail tweaker',
      refetch: true,
    });
  });

  it.each([
    [{ name: 'x' }, 'kind'],
    [{ kind: 'vae' }, 'kind'],
    [{ kind: 'lora', name: '../x' }, 'name'],
    [{ refetch: 'yes' }, 'refetch'],
    [{ deep: true }, ''],
  ])('verify refuses %j, naming %j', (body, field) => {
    const result = verifyRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual([field]);
  });

  it('scan takes an empty object and nothing else', () => {
    expect(scanRequestSchema.parse({})).toEqual({});
    expect(scanRequestSchema.safeParse({ kind: 'lora' }).success).toBe(false);
  });

  it('maintenance job ids carry their name', () => {
    expect(MAINTENANCE_JOB_ID.test('verify-3f1c2d7e-0000-4000-8000-000000000000')).toBe(true);
    expect(MAINTENANCE_JOB_ID.test('scan-3f1c2d7e-0000-4000-8000-000000000000')).toBe(true);
    expect(MAINTENANCE_JOB_ID.test('42')).toBe(false);
  });
});

describe('fetch-model jobs made outside the API', () => {
  it('carry the data and options the API gives them', () => {
    const ref = { kind: 'lora' as const, name: 'x', url: 'https://example.invalid/x', sha256: 'ab'.repeat(32) };
    const data = fetchJobData(ref);
    expect(data).toMatchObject({ ...ref, requestedAt: expect.any(Number), requestId: expect.any(String) });
    expect(fetchJobData(ref).requestId).not.toBe(data.requestId);
    expect(fetchJobOptions({ DOWNLOAD_ATTEMPTS: 4, DOWNLOAD_BACKOFF_MS: 100 }, ref, 5)).toMatchObject({
      deduplication: { id: 'lora/x' },
      priority: 5,
      attempts: 4,
      backoff: { type: 'model-fetch', delay: 100 },
    });
  });
});
