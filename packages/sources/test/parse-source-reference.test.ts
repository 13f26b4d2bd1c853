import { describe, expect, it } from 'vitest';
import { parseSourceReference, SourceError } from '../src/index.js';

describe('parseSourceReference', () => {
  it.each([
    [
      'hf:stabilityai/sdxl-vae/sdxl_vae.safetensors',
      { repo: 'stabilityai/sdxl-vae', path: 'sdxl_vae.safetensors', revision: 'main' },
    ],
    ['hf:o/r/sub/dir/f.safetensors@v1.0', { repo: 'o/r', path: 'sub/dir/f.safetensors', revision: 'v1.0' }],
    ['hf:o/r/f.safetensors@refs/pr/1', { repo: 'o/r', path: 'f.safetensors', revision: 'refs/pr/1' }],
    ['hf:o/r/a@b/f.safetensors@main', { repo: 'o/r', path: 'a@b/f.safetensors', revision: 'main' }],
    ['hf:o/r/with space & ü.safetensors', { repo: 'o/r', path: 'with space & ü.safetensors', revision: 'main' }],
    ['hf:o/r/100%25.safetensors', { repo: 'o/r', path: '100%25.safetensors', revision: 'main' }],
    [`HF:Org_1/Model.v2/f.bin@${'a'.repeat(40)}`, { repo: 'Org_1/Model.v2', path: 'f.bin', revision: 'a'.repeat(40) }],
  ])('reads %s', (text, expected) => {
    expect(parseSourceReference(text)).toEqual({ host: 'huggingface', ...expected });
  });

  it.each([
    ['civitai:135867', { versionId: 135867, params: {} }],
    ['urn:air:sdxl:lora:civitai:328553@368189', { versionId: 368189, modelId: 328553, params: {} }],
    [
      'urn:air:sd1:checkpoint:civitai:4201@130072.safetensors',
      { versionId: 130072, modelId: 4201, params: { format: 'SafeTensor' } },
    ],
    ['urn:air:flux1:model:civitai:1@2.ckpt', { versionId: 2, modelId: 1, params: { format: 'PickleTensor' } }],
    ['urn:air:flux1:model:civitai:1@2.zip', { versionId: 2, modelId: 1, params: {} }],
  ])('reads %s', (text, expected) => {
    expect(parseSourceReference(text)).toEqual({ host: 'civitai', ...expected });
  });

  it.each([
    ['', /not a known kind of reference/],
    ['stabilityai/sdxl-vae/x.safetensors', /not a known kind/],
    ['https://huggingface.co/o/r/resolve/main/x.safetensors', /not a known kind/],
    [' hf:o/r/x.safetensors', /leading or trailing spaces/],
    ['hf:o/r', /path in the repository is empty/],
    ['hf:o/r/', /path in the repository is empty/],
    ['hf:o/r/x.safetensors@', /revision is empty/],
    ['hf:o/r/a//b.safetensors', /empty, "\." or "\.\." part/],
    ['hf:o/r/../x.safetensors', /"\.\." part/],
    ['hf:o/../x.safetensors', /not a Hugging Face owner or repository name/],
    ['hf:o/r/x.safetensors@has space', /revision holds a space/],
    ['hf:o/r/x\u0000.safetensors', /control character/],
    ['hf:-o/r/x.safetensors', /owner or repository name/],
    ['civitai:', /not a Civitai model version id/],
    ['civitai:0', /not a Civitai model version id/],
    ['civitai:12a', /not a Civitai model version id/],
    ['civitai:99999999999999999', /not a Civitai model version id/],
    ['urn:air:sdxl:lora:civitai:328553', /an AIR without @VERSION_ID names no file/],
    ['urn:air:sdxl:lora:huggingface:328553@1', /AIRs of huggingface are not fetched/],
    ['urn:air:sdxl:lora:civitai:abc@1', /not an AIR/],
  ])('refuses %j', (text, problem) => {
    let thrown: unknown;
    try {
      parseSourceReference(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SourceError);
    const err = thrown as SourceError;
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.details).toEqual({ field: 'source' });
    expect(err.message).toMatch(problem);
    // Every refusal names the forms that are accepted.
    expect(err.message).toContain('hf:OWNER/REPO/PATH/IN/REPO[@REVISION], civitai:VERSION_ID or urn:air:');
  });
});
