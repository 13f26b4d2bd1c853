import { describe, expect, it } from 'vitest';
import {
  CIVITAI_NO_SHA256,
  civitaiAnswer,
  downloadParams,
  pickCivitaiFile,
  type SourceError,
  type CivitaiRef,
} from '../src/index.js';
import { SHA_A, SHA_B, versionJson } from './support/fake-civitai.js';

const ref = (params: CivitaiRef['params'] = {}): CivitaiRef => ({ host: 'civitai', versionId: 9, params });
const files = versionJson(9).files;

describe('pickCivitaiFile: the file a download with these parameters gets', () => {
  it('takes the file matching every parameter given, in any case', () => {
    expect(pickCivitaiFile(files, { fp: 'FP16' })?.id).toBe(12);
    expect(pickCivitaiFile(files, { type: 'model', format: 'safetensor', size: 'pruned', fp: 'fp16' })?.id).toBe(12);
    expect(pickCivitaiFile(files, { format: 'SafeTensor' })?.id).toBe(11);
  });
  it('falls back to the primary file, then the first', () => {
    expect(pickCivitaiFile(files, {})?.id).toBe(11);
    expect(pickCivitaiFile([files[1]!, files[0]!], {})?.id).toBe(11);
    expect(pickCivitaiFile(files, { fp: 'bf16' })?.id).toBe(11);
    expect(pickCivitaiFile([files[1]!, { ...files[0]!, primary: false }], {})?.id).toBe(12);
    expect(pickCivitaiFile([], {})).toBeUndefined();
  });
  it('downloads with all of the chosen file parameters, spelled as the caller spelled those given', () => {
    const chosen = { type: 'Model', format: 'SafeTensor', size: 'pruned', fp: 'fp16' };
    expect(downloadParams({ fp: 'FP16' }, chosen)).toEqual({ ...chosen, fp: 'FP16' });
    // Nothing matched and the primary file was chosen: its own parameters, not the caller's.
    expect(downloadParams({ fp: 'bf16' }, chosen)).toEqual(chosen);
    expect(downloadParams({}, { type: 'Model' })).toEqual({ type: 'Model' });
  });
});

describe('civitaiAnswer', () => {
  it('gives the chosen file name, lower-case SHA-256, size in bytes and ids', () => {
    expect(civitaiAnswer(ref({ fp: 'fp16' }), versionJson(9))).toEqual({
      found: {
        fileName: 'some_lora_fp16.safetensors',
        sha256: SHA_B.toLowerCase(),
        size: 768,
        source: { host: 'civitai', versionId: 9, modelId: 4201, fileId: 12 },
        fileParams: { type: 'Model', format: 'SafeTensor', size: 'pruned', fp: 'fp16' },
      },
    });
    expect(civitaiAnswer(ref(), versionJson(9))).toMatchObject({ found: { sha256: SHA_A.toLowerCase(), size: 1536 } });
  });

  it('rounds a float size in KiB to bytes', () => {
    const body = versionJson(9);
    body.files[0]!.sizeKB = 2_082_642.3525390625; // 2 132 625 769 bytes
    expect(civitaiAnswer(ref(), body)).toMatchObject({ found: { size: 2_132_625_769 } });
  });

  it('has no SHA-256 when none (or no valid one) is published; nulls and unknown fields are fine', () => {
    const body = versionJson(9) as any;
    body.files[0].hashes = { SHA256: 'not-hex' };
    body.files[0].metadata = { format: 'SafeTensor', size: null, fp: null };
    body.files[0].extra = { anything: true };
    const answer = civitaiAnswer(ref(), body);
    expect(answer).toMatchObject({
      found: { noSha256Reason: CIVITAI_NO_SHA256, fileParams: { type: 'Model', format: 'SafeTensor' } },
    });
    expect('found' in answer && answer.found.sha256).toBeUndefined();
    delete body.files[0].hashes;
    delete body.files[0].metadata;
    expect(civitaiAnswer(ref(), body)).toMatchObject({ found: { fileParams: { type: 'Model' } } });
  });

  it.each([
    [{ error: 'nope' }, /files/],
    [{ id: 9, files: [{ id: 1, name: 'x.safetensors' }] }, /sizeKB/],
    [{ id: 9, files: [{ id: 1, name: 'x', sizeKB: -1 }] }, /sizeKB/],
    ['<html>', /the answer/],
  ])('calls an unexpected shape unavailable (%#)', (body, where) => {
    const answer = civitaiAnswer(ref(), body);
    expect('unavailable' in answer && answer.unavailable).toMatch(/^Civitai metadata unavailable: malformed answer/);
    expect('unavailable' in answer && answer.unavailable).toMatch(where);
  });

  it('refuses a version with no files', () => {
    expect(() => civitaiAnswer(ref(), { id: 9, modelId: 1, files: [] })).toThrow(
      expect.objectContaining({
        code: 'SOURCE_NOT_FOUND',
        message: 'Civitai model version 9 has no files',
      }) as SourceError,
    );
  });
});
