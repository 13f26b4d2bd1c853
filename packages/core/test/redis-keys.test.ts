import { createHash } from 'node:crypto';
import { QueueKeys } from 'bullmq';
import { describe, expect, it } from 'vitest';
import {
  MAINTENANCE_QUEUE,
  QUEUE_NAME,
  bullKeys,
  modelKey,
  serviceKeys,
  sourceMetadataKey,
  urlTokenKey,
  volumeKeyBase,
  volumeKeys,
} from '@model-manager/core';

// Processes of the previous version share Redis with the new ones: each name is pinned
// character for character, so a change to one fails here before it ships.

describe('keys under the queue prefix', () => {
  it('name our own keys as they always were', () => {
    const keys = serviceKeys('mm');
    expect(keys.stats).toBe('mm:model-manager:stats');
    expect(keys.batch('b-1')).toBe('mm:model-manager:batch:b-1');
    expect(keys.rate('10.0.0.1', 28_000_000)).toBe('mm:model-manager:rate:10.0.0.1:28000000');
    const sha = createHash('sha256').update('https://h/f.safetensors').digest('hex');
    expect(urlTokenKey('mm', 'https://h/f.safetensors')).toBe(`mm:model-manager:url-token:${sha}`);
    const ref = createHash('sha256').update('civitai:135867').digest('hex');
    expect(sourceMetadataKey('mm', 'civitai:135867')).toBe(`mm:model-manager:source-metadata:${ref}`);
  });

  it('keep a hash-tagged prefix as given, so a cluster puts them in the queue’s slot', () => {
    expect(serviceKeys('{mm}').stats).toBe('{mm}:model-manager:stats');
    expect(serviceKeys('{mm}').batch('b-1')).toBe('{mm}:model-manager:batch:b-1');
    expect(serviceKeys('{mm}').rate('c', 1)).toBe('{mm}:model-manager:rate:c:1');
    expect(urlTokenKey('{mm}', 'u')).toMatch(/^\{mm\}:model-manager:url-token:[0-9a-f]{64}$/);
  });

  it('name a model kind/name (deduplication id and lease member)', () => {
    expect(modelKey('lora', 'a/b')).toBe('lora/a/b');
  });
});

describe('BullMQ keys we read directly', () => {
  it('follow BullMQ’s layout for jobs, locks and queue metadata', () => {
    for (const prefix of ['mm', '{mm}']) {
      const keys = bullKeys(prefix, QUEUE_NAME);
      expect(keys.job('7')).toBe(`${prefix}:model-fetch:7`);
      expect(keys.jobLock('7')).toBe(`${prefix}:model-fetch:7:lock`);
      expect(keys.meta).toBe(`${prefix}:model-fetch:meta`);
      expect(bullKeys(prefix, MAINTENANCE_QUEUE).meta).toBe(`${prefix}:model-maintenance:meta`);
      expect(keys.job('7')).toBe(new QueueKeys(prefix).toKey(QUEUE_NAME, '7'));
    }
  });
});

describe('keys of a volume', () => {
  // Untagged on one server; the volume id hash-tagged on a cluster, so one script may touch several.
  it.each([
    { cluster: false, base: 'model-manager:volume:0b7c' },
    { cluster: true, base: 'model-manager:volume:{0b7c}' },
  ])('are named under $base (cluster: $cluster)', ({ cluster, base }) => {
    expect(volumeKeyBase('0b7c', cluster)).toBe(base);
    const keys = volumeKeys('0b7c', cluster);
    expect({
      pattern: keys.pattern,
      registryLock: keys.registryLock,
      modelLease: keys.modelLease('l-1'),
      modelLeaseIndex: keys.modelLeaseIndex,
      evicting: keys.evicting,
      reservations: keys.reservations,
      stagingLease: keys.stagingLease('mm.7'),
      contentClaim: keys.contentClaim('ABC123'),
    }).toEqual({
      pattern: `${base}:*`,
      registryLock: `${base}:registry-lock`,
      modelLease: `${base}:lease:l-1`,
      modelLeaseIndex: `${base}:leases`,
      evicting: `${base}:evicting`,
      reservations: `${base}:reservations`,
      stagingLease: `${base}:staging-lease:mm.7`,
      contentClaim: `${base}:content:abc123`,
    });
  });
});
