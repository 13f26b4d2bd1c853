import { describe, expect, it } from 'vitest';
import { loadConfig } from '@model-manager/core';
import { authRulesFromConfig, authorizationFor } from '../src/auth.js';

const rules = {
  hfToken: 'hf_x',
  civitaiToken: 'civ_y',
  hostHeaders: { 'mirror.local:8443': 'Basic bWU6cHc=', 'files.lan': 'Bearer lan' },
};

describe('which host gets which token', () => {
  it('sends HF_TOKEN to huggingface.co and its subdomains, CIVITAI_TOKEN to civitai.com, AUTH_HEADERS to their host', () => {
    expect(authorizationFor('https://huggingface.co/org/m/resolve/main/x.safetensors', rules)).toBe('Bearer hf_x');
    expect(authorizationFor('https://api.huggingface.co/x', rules)).toBe('Bearer hf_x');
    expect(authorizationFor('https://civitai.com/api/download/models/1', rules)).toBe('Bearer civ_y');
    expect(authorizationFor('https://mirror.local:8443/x', rules)).toBe('Basic bWU6cHc=');
    expect(authorizationFor('http://files.lan/x', rules)).toBe('Bearer lan');
  });
  it('sends nothing to look-alike or other hosts', () => {
    expect(authorizationFor('https://huggingface.co.evil.example/x', rules)).toBeUndefined();
    expect(authorizationFor('https://nothuggingface.co/x', rules)).toBeUndefined();
    expect(authorizationFor('https://civitai.com.evil.example/x', rules)).toBeUndefined();
    expect(authorizationFor('https://mirror.local/x', rules)).toBeUndefined(); // another port
    expect(authorizationFor('https://example.com/x', rules)).toBeUndefined();
  });
  it('sends HF_TOKEN and CIVITAI_TOKEN only over https to the default port, never in clear', () => {
    expect(authorizationFor('http://huggingface.co/org/m/resolve/main/x.safetensors', rules)).toBeUndefined();
    expect(authorizationFor('https://huggingface.co:8443/x', rules)).toBeUndefined();
    expect(authorizationFor('http://civitai.com/api/download/models/1', rules)).toBeUndefined();
    expect(authorizationFor('https://huggingface.co:443/x', rules)).toBe('Bearer hf_x'); // :443 is the default port
  });
  it('drops the token once a redirect leaves the host the request started at', () => {
    const start = 'https://huggingface.co/org/m/resolve/main/x.safetensors';
    expect(authorizationFor('https://huggingface.co/api/resolve-cache/x', rules, start)).toBe('Bearer hf_x');
    expect(authorizationFor('https://cdn-lfs.huggingface.co/repos/x?X-Amz-Signature=1', rules, start)).toBeUndefined();
    expect(
      authorizationFor(
        'https://civitai-delivery.r2.example/x?sig=1',
        rules,
        'https://civitai.com/api/download/models/1',
      ),
    ).toBeUndefined();
  });
});

describe('tokens for the configured endpoints', () => {
  const mirrored = {
    ...rules,
    endpoints: { hf: 'http://hf-mirror.lan:8080', civitai: 'https://civitai-mirror.lan' },
  };
  it('sends HF_TOKEN and CIVITAI_TOKEN to their endpoint origin, over the scheme and port the operator chose', () => {
    expect(authorizationFor('http://hf-mirror.lan:8080/o/r/resolve/main/x', mirrored)).toBe('Bearer hf_x');
    expect(authorizationFor('https://civitai-mirror.lan/api/v1/model-versions/1', mirrored)).toBe('Bearer civ_y');
    // The public hosts keep theirs.
    expect(authorizationFor('https://huggingface.co/x', mirrored)).toBe('Bearer hf_x');
    expect(authorizationFor('https://civitai.com/api/download/models/1', mirrored)).toBe('Bearer civ_y');
  });
  it('sends nothing to another scheme, port or host than the endpoint', () => {
    expect(authorizationFor('https://hf-mirror.lan:8080/x', mirrored)).toBeUndefined();
    expect(authorizationFor('http://hf-mirror.lan/x', mirrored)).toBeUndefined();
    expect(authorizationFor('http://hf-mirror.lan:8081/x', mirrored)).toBeUndefined();
    expect(authorizationFor('http://civitai-mirror.lan/x', mirrored)).toBeUndefined();
    expect(authorizationFor('https://other.lan/x', mirrored)).toBeUndefined();
    // No token configured, none sent.
    expect(authorizationFor('http://hf-mirror.lan:8080/x', { ...mirrored, hfToken: undefined })).toBeUndefined();
  });
  it('drops the token on a redirect away from the endpoint', () => {
    const start = 'http://hf-mirror.lan:8080/o/r/resolve/main/x';
    expect(authorizationFor('http://hf-mirror.lan:8080/api/resolve-cache/x', mirrored, start)).toBe('Bearer hf_x');
    expect(authorizationFor('http://storage.lan/x?sig=1', mirrored, start)).toBeUndefined();
  });
  it('tells the two tokens apart on one origin serving both hosts by the path', () => {
    const both = { ...rules, endpoints: { hf: 'http://fake.lan:3000', civitai: 'http://fake.lan:3000' } };
    expect(authorizationFor('http://fake.lan:3000/o/r/resolve/main/x', both)).toBe('Bearer hf_x');
    expect(authorizationFor('http://fake.lan:3000/api/v1/model-versions/1', both)).toBe('Bearer civ_y');
    expect(authorizationFor('http://fake.lan:3000/api/download/models/1', both)).toBe('Bearer civ_y');
  });
});

describe('authRulesFromConfig', () => {
  it('takes the tokens, AUTH_HEADERS and the endpoint origins from the configuration', () => {
    const config = loadConfig({
      HF_TOKEN: 'hf_x',
      CIVITAI_TOKEN: 'civ_y',
      AUTH_HEADERS: '{"Files.LAN":"Bearer lan"}',
      HF_ENDPOINT: 'http://hf-mirror.lan:8080/hub/',
      CIVITAI_ENDPOINT: 'https://civitai-mirror.lan:443',
    });
    expect(authRulesFromConfig(config)).toEqual({
      hfToken: 'hf_x',
      civitaiToken: 'civ_y',
      hostHeaders: { 'files.lan': 'Bearer lan' },
      endpoints: { hf: 'http://hf-mirror.lan:8080', civitai: 'https://civitai-mirror.lan' },
    });
    const defaults = authRulesFromConfig(loadConfig({}));
    expect(defaults.endpoints).toEqual({ hf: 'https://huggingface.co', civitai: 'https://civitai.com' });
    expect(authorizationFor('https://huggingface.co/x', defaults)).toBeUndefined();
  });
});
