import { describe, expect, it } from 'vitest';
import {
  PUBLIC_ENDPOINTS,
  plainUrlResolution,
  referenceResolution,
  type MetadataAnswer,
  type SourceRef,
} from '../src/index.js';
import { thrown } from './support/source-failure.js';

const SHA = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const hf: SourceRef = { host: 'huggingface', repo: 'o/r', path: 'dir/x.safetensors', revision: 'main' };
const civitai: SourceRef = { host: 'civitai', versionId: 9, params: { fp: 'FP16' } };
const civitaiFound: MetadataAnswer = {
  found: {
    fileName: 'lora_fp16.safetensors',
    sha256: SHA,
    size: 768,
    source: { host: 'civitai', versionId: 9, modelId: 7, fileId: 12 },
    fileParams: { type: 'Model', format: 'SafeTensor', fp: 'fp16' },
  },
};
const unavailable: MetadataAnswer = { unavailable: 'Civitai metadata unavailable: timed out after 300 ms' };

describe('referenceResolution', () => {
  it("takes the host's hash, size, file name and ids, and downloads the chosen file from the endpoint", () => {
    expect(
      referenceResolution({ kind: 'lora', mirrors: ['https://m.example/x'] }, civitai, civitaiFound, PUBLIC_ENDPOINTS),
    ).toEqual({
      ref: {
        kind: 'lora',
        name: 'lora_fp16',
        url: 'https://civitai.com/api/download/models/9?type=Model&format=SafeTensor&fp=FP16',
        sha256: SHA,
        mirrors: ['https://m.example/x'],
      },
      expectedSize: 768,
      source: { host: 'civitai', versionId: 9, modelId: 7, fileId: 12 },
      verified: true,
    });
  });

  it('keeps the name and hash given when they agree with the host', () => {
    const r = referenceResolution({ kind: 'lora', name: 'Mine', sha256: SHA }, civitai, civitaiFound, PUBLIC_ENDPOINTS);
    expect(r.ref).toMatchObject({ name: 'Mine', sha256: SHA });
    expect(r.verified).toBe(true);
  });

  it('refuses a hash that differs from the one the host publishes', () => {
    const err = thrown(() =>
      referenceResolution({ kind: 'lora', sha256: OTHER }, civitai, civitaiFound, PUBLIC_ENDPOINTS),
    );
    expect(err.code).toBe('HASH_CONFLICT');
    expect(err.message).toBe(
      `the sha256 given (${OTHER.slice(0, 12)}…) is not the one Civitai publishes for version 9 (${SHA.slice(0, 12)}…)`,
    );
    expect(err.details).toEqual({ given: OTHER, host: SHA });
  });

  it("refuses an AIR whose model is not the version's", () => {
    const air: SourceRef = { host: 'civitai', versionId: 9, modelId: 8, params: {} };
    expect(thrown(() => referenceResolution({ kind: 'lora' }, air, civitaiFound, PUBLIC_ENDPOINTS))).toMatchObject({
      code: 'SOURCE_NOT_FOUND',
      message: 'Civitai model 8 has no version 9 (it is a version of model 7)',
    });
  });

  it('goes on unverified when the metadata is unavailable, named after the reference', () => {
    expect(referenceResolution({ kind: 'lora' }, civitai, unavailable, PUBLIC_ENDPOINTS)).toEqual({
      ref: { kind: 'lora', name: 'civitai-9', url: 'https://civitai.com/api/download/models/9?fp=FP16' },
      source: { host: 'civitai', versionId: 9 },
      verified: false,
      unverifiedReason: unavailable.unavailable,
    });
    const r = referenceResolution({ kind: 'lora' }, hf, { unavailable: 'x' }, PUBLIC_ENDPOINTS);
    expect(r.ref.name).toBe('x');
    expect(r.source).toEqual({ host: 'huggingface', repo: 'o/r', revision: 'main', path: 'dir/x.safetensors' });
    // The caller's hash verifies the download even without the host's.
    expect(
      referenceResolution({ kind: 'lora', sha256: SHA }, hf, { unavailable: 'x' }, PUBLIC_ENDPOINTS),
    ).toMatchObject({
      verified: true,
      ref: { sha256: SHA },
    });
  });

  it('says why a file the host publishes no hash for is unverified', () => {
    const r = referenceResolution(
      { kind: 'lora' },
      hf,
      {
        found: {
          fileName: 'x.safetensors',
          size: 3,
          noSha256Reason: 'not LFS',
          source: { host: 'huggingface', repo: 'o/r', revision: 'main', path: 'dir/x.safetensors' },
        },
      },
      PUBLIC_ENDPOINTS,
    );
    expect(r).toMatchObject({ verified: false, unverifiedReason: 'not LFS', expectedSize: 3 });
  });
});

describe('plainUrlResolution', () => {
  it("names the model after the URL's file and says why it is unverified, token hidden", () => {
    expect(
      plainUrlResolution({ kind: 'checkpoint' }, 'https://example.com/a/My%20Model.v2.safetensors?token=s3cret'),
    ).toEqual({
      ref: {
        kind: 'checkpoint',
        name: 'My Model.v2',
        url: 'https://example.com/a/My%20Model.v2.safetensors?token=s3cret',
      },
      verified: false,
      unverifiedReason: 'no sha256 given',
    });
  });

  it('is verified with a hash given', () => {
    expect(plainUrlResolution({ kind: 'lora', sha256: SHA, name: 'n' }, 'https://example.com/download')).toEqual({
      ref: { kind: 'lora', name: 'n', url: 'https://example.com/download', sha256: SHA },
      verified: true,
    });
  });

  it.each(['https://example.com/download?id=4', 'https://example.com/', 'https://example.com/%E0%A4%A.bin'])(
    'asks for a name when %s ends in no file name',
    (url) => {
      expect(thrown(() => plainUrlResolution({ kind: 'lora' }, url))).toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/^name is required/),
        details: { field: 'name' },
      });
    },
  );
});
