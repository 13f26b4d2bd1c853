import { describe, expect, it } from 'vitest';
import { authorizationFor } from '../src/download/auth.js';

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
