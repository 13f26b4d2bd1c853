import { describe, expect, it } from 'vitest';
import { cacheKeyOf, downloadUrlOf, PUBLIC_ENDPOINTS, sourceOfUrl } from '../src/index.js';

const mirrors = { hf: 'http://hf-mirror.lan:8080/hub', civitai: 'http://civitai-mirror.lan:9000' };

describe('sourceOfUrl', () => {
  it('recognises Hugging Face resolve URLs on the public hosts and the configured endpoint', () => {
    const file = { host: 'huggingface', repo: 'o/r', path: 'sub/x y.safetensors', revision: 'main' };
    expect(sourceOfUrl('https://huggingface.co/o/r/resolve/main/sub/x%20y.safetensors?download=true', mirrors)).toEqual(
      file,
    );
    expect(sourceOfUrl('https://hf.co/o/r/resolve/main/sub/x%20y.safetensors', mirrors)).toEqual(file);
    expect(sourceOfUrl('http://hf-mirror.lan:8080/hub/o/r/resolve/main/sub/x%20y.safetensors', mirrors)).toEqual(file);
    expect(sourceOfUrl('https://huggingface.co/o/r/resolve/refs%2Fpr%2F1/x.safetensors', mirrors)).toEqual({
      host: 'huggingface',
      repo: 'o/r',
      path: 'x.safetensors',
      revision: 'refs/pr/1',
    });
  });

  it('recognises Civitai download URLs with their file parameters as pasted, dropping the token', () => {
    expect(
      sourceOfUrl(
        'https://civitai.com/api/download/models/135867?type=Model&format=SafeTensor&size=pruned&fp=fp16&token=abc',
        mirrors,
      ),
    ).toEqual({
      host: 'civitai',
      versionId: 135867,
      params: { type: 'Model', format: 'SafeTensor', size: 'pruned', fp: 'fp16' },
    });
    expect(sourceOfUrl('https://www.civitai.com/api/download/models/1?FP=FP16', mirrors)).toEqual({
      host: 'civitai',
      versionId: 1,
      params: { fp: 'FP16' },
    });
    expect(sourceOfUrl('http://civitai-mirror.lan:9000/api/download/models/7', mirrors)).toEqual({
      host: 'civitai',
      versionId: 7,
      params: {},
    });
  });

  it.each([
    'http://huggingface.co/o/r/resolve/main/x.safetensors', // public host over http
    'https://huggingface.co/o/r/blob/main/x.safetensors', // the web page, not the file
    'https://huggingface.co/o/r/resolve/main', // no path
    'https://huggingface.co/o/r/resolve/main/a%2Fb.safetensors', // a segment decoding to "/"
    'https://huggingface.co/o/r/resolve/main/%E0%A4%A.safetensors', // does not decode
    'https://huggingface.co.evil.example/o/r/resolve/main/x.safetensors',
    'http://hf-mirror.lan:8080/o/r/resolve/main/x.safetensors', // outside the endpoint's path
    'http://hf-mirror.lan:8081/hub/o/r/resolve/main/x.safetensors', // another port
    'https://civitai.com/api/download/models/abc',
    'https://civitai.com/models/4201',
    'http://civitai.com/api/download/models/1',
    'https://example.com/api/download/models/1',
    'https://example.com/x.safetensors',
    'not a url',
  ])('takes %s for a plain URL', (url) => {
    expect(sourceOfUrl(url, mirrors)).toBeNull();
  });
});

describe('downloadUrlOf', () => {
  it('builds Hugging Face resolve URLs on the configured endpoint, encoding the revision and each path segment', () => {
    const ref = { host: 'huggingface', repo: 'o/r', path: 'sub/x y#?.safetensors', revision: 'refs/pr/1' } as const;
    expect(downloadUrlOf(ref, PUBLIC_ENDPOINTS)).toBe(
      'https://huggingface.co/o/r/resolve/refs%2Fpr%2F1/sub/x%20y%23%3F.safetensors',
    );
    expect(downloadUrlOf(ref, mirrors)).toBe(
      'http://hf-mirror.lan:8080/hub/o/r/resolve/refs%2Fpr%2F1/sub/x%20y%23%3F.safetensors',
    );
  });

  it('fetches a pasted public URL from the configured endpoint, file parameters kept', () => {
    const ref = sourceOfUrl('https://civitai.com/api/download/models/135867?fp=fp16&token=secret&type=Model', mirrors)!;
    expect(downloadUrlOf(ref, mirrors)).toBe(
      'http://civitai-mirror.lan:9000/api/download/models/135867?type=Model&fp=fp16',
    );
    const hf = sourceOfUrl('https://huggingface.co/o/r/resolve/v1/x%20y.safetensors', mirrors)!;
    expect(downloadUrlOf(hf, mirrors)).toBe('http://hf-mirror.lan:8080/hub/o/r/resolve/v1/x%20y.safetensors');
  });

  it('round-trips: the URL it builds names the same file', () => {
    const ref = { host: 'huggingface', repo: 'o/r', path: 'a/ü 1%.safetensors', revision: 'refs/pr/2' } as const;
    expect(sourceOfUrl(downloadUrlOf(ref, PUBLIC_ENDPOINTS), PUBLIC_ENDPOINTS)).toEqual(ref);
  });
});

describe('cacheKeyOf', () => {
  it('is canonical: parameters sorted and lower-cased, whatever URL named the file', () => {
    const a = sourceOfUrl('https://civitai.com/api/download/models/5?fp=FP16&type=Model', mirrors)!;
    const b = sourceOfUrl('http://civitai-mirror.lan:9000/api/download/models/5?TYPE=model&fp=fp16', mirrors)!;
    expect(cacheKeyOf(a)).toBe('civitai:5?fp=fp16&type=model');
    expect(cacheKeyOf(b)).toBe(cacheKeyOf(a));
    expect(cacheKeyOf({ host: 'civitai', versionId: 5, params: {} })).toBe('civitai:5');
    expect(cacheKeyOf({ host: 'huggingface', repo: 'o/r', path: 'a/b.safetensors', revision: 'refs/pr/1' })).toBe(
      'hf:o/r/a/b.safetensors@refs/pr/1',
    );
  });
});
