import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { civitaiHashes, fakeFile, safetensorsOf } from '@model-manager/fake-hosts';
import { blake3 } from '../src/blake3.js';

/** The input of BLAKE3's official test vectors: bytes 0..250 repeated. */
const pattern = (length: number) => Buffer.from(Array.from({ length }, (_, i) => i % 251));

describe('blake3', () => {
  // From the BLAKE3 team's test_vectors.json (first 32 bytes of each extended output): one
  // block, one chunk, a chunk and a byte, and trees of several levels.
  const vectors: Array<[number, string]> = [
    [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
    [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
    [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
    [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
    [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
    [3073, '7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3'],
    [8193, 'bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b'],
    [31744, '62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47'],
    [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085'],
  ];
  for (const [length, hash] of vectors)
    it(`matches the test vector for ${length} bytes`, () => {
      expect(blake3(pattern(length))).toBe(hash);
    });
});

describe('civitaiHashes', () => {
  it('gives CRC32, AutoV1 and AutoV2 as Civitai computes them, upper-case', () => {
    const small = civitaiHashes(fakeFile('check', Buffer.from('123456789')));
    expect(small.CRC32).toBe('CBF43926');
    // Under 1 MiB, the old AUTOMATIC1111 hash reads nothing: the SHA-256 of no bytes.
    expect(small.AutoV1).toBe('E3B0C442');
    const body = safetensorsOf(1_200_000, 'seed');
    const big = civitaiHashes(fakeFile('big', body));
    const window = createHash('sha256').update(body.subarray(0x100000, 0x110000)).digest('hex');
    expect(big.AutoV1).toBe(window.slice(0, 8).toUpperCase());
    expect(big.AutoV2).toBe(big.SHA256.slice(0, 10));
    expect(big.SHA256).toBe(createHash('sha256').update(body).digest('hex').toUpperCase());
  });
});

describe('safetensorsOf', () => {
  it('makes a valid safetensors file of exactly the size asked', () => {
    for (const size of [200, 1000, 65_537]) {
      const body = safetensorsOf(size);
      expect(body.length).toBe(size);
      const headerLength = Number(body.readBigUInt64LE(0));
      expect(headerLength % 8).toBe(0);
      const header = JSON.parse(body.subarray(8, 8 + headerLength).toString());
      expect(header.weights.dtype).toBe('U8');
      expect(header.weights.data_offsets).toEqual([0, size - 8 - headerLength]);
    }
  });

  it('is deterministic with a seed, random without', () => {
    expect(safetensorsOf(5000, 's').equals(safetensorsOf(5000, 's'))).toBe(true);
    expect(safetensorsOf(5000, 's').equals(safetensorsOf(5000, 't'))).toBe(false);
    expect(safetensorsOf(5000).equals(safetensorsOf(5000))).toBe(false);
    expect(() => safetensorsOf(50)).toThrow(/too small/);
  });
});
