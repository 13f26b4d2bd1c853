import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_HOSTS, checkSourceUrl, hostAllowed, isPrivateAddress, loadConfig } from '@model-manager/core';

describe('ALLOWED_HOSTS patterns', () => {
  it('match a host exactly, any subdomain with *., one label with * inside, every host with *', () => {
    const allowed = (host: string) => hostAllowed(host, DEFAULT_ALLOWED_HOSTS);
    for (const host of [
      'huggingface.co',
      'cdn-lfs.huggingface.co',
      'cdn-lfs-us-1.huggingface.co',
      'cas-bridge.xethub.hf.co',
      'HuggingFace.CO.',
      'civitai.com',
      'civitai-delivery-worker-prod.5ac0637cfd0766c97916cefa3764fbdf.r2.cloudflarestorage.com',
    ]) {
      expect(allowed(host), host).toBe(true);
    }
    for (const host of [
      'evilhuggingface.co',
      'huggingface.co.evil.example',
      'other.r2.cloudflarestorage.com',
      'civitai.com.example',
      '127.0.0.1',
      'localhost',
      '.huggingface.co',
    ]) {
      expect(allowed(host), host).toBe(false);
    }
    expect(hostAllowed('anything.example', ['*'])).toBe(true);
    expect(hostAllowed('a.b.example', ['*.example'])).toBe(true);
    expect(hostAllowed('example', ['*.example'])).toBe(false);
  });
});

describe('private addresses', () => {
  it('are refused in every written form, IPv4-mapped IPv6 included', () => {
    for (const ip of [
      '127.0.0.1',
      '127.255.0.9',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
      '::1',
      '[::1]',
      '::',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'fe80::1%eth0',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '0:0:0:0:0:ffff:a9fe:a9fe',
      '::ffff:10.1.2.3',
      '64:ff9b::a9fe:a9fe',
      '::7f00:1',
      '::ffff:0:7f00:1',
      '64:ff9b:1::1',
      'fec0::1',
      '2001::1',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '1.1.1.1']) {
      expect(isPrivateAddress(ip), ip).toBe(false);
    }
  });

  it('written as URL hosts in any notation the URL parser accepts are refused before DNS', () => {
    const policy = { allowedHosts: ['*'], allowPrivateNetworks: false };
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::1]:6379/',
      'http://127.1/',
    ]) {
      expect(checkSourceUrl(url, policy)?.code, url).toBe('PRIVATE_ADDRESS');
    }
    expect(checkSourceUrl('http://169.254.169.254/', { ...policy, allowPrivateNetworks: true })).toBeNull();
    expect(
      checkSourceUrl('ftp://huggingface.co/x', { allowedHosts: DEFAULT_ALLOWED_HOSTS, allowPrivateNetworks: false })
        ?.code,
    ).toBe('HOST_NOT_ALLOWED');
    expect(
      checkSourceUrl('https://example.com/x', { allowedHosts: DEFAULT_ALLOWED_HOSTS, allowPrivateNetworks: false }),
    ).toEqual({
      code: 'HOST_NOT_ALLOWED',
      message: 'host example.com is not in ALLOWED_HOSTS',
    });
  });
});

describe('settings', () => {
  it('default to Hugging Face and Civitai with private networks closed, and refuse a malformed list', () => {
    const config = loadConfig({});
    expect(config.networkPolicy).toEqual({ allowedHosts: [...DEFAULT_ALLOWED_HOSTS], allowPrivateNetworks: false });
    expect(
      loadConfig({ ALLOWED_HOSTS: 'a.example, *.b.example', ALLOW_PRIVATE_NETWORKS: 'true' }).networkPolicy,
    ).toEqual({
      allowedHosts: ['a.example', '*.b.example'],
      allowPrivateNetworks: true,
    });
    expect(() => loadConfig({ ALLOWED_HOSTS: 'http://a.example/' })).toThrow(/ALLOWED_HOSTS=.*host patterns look like/);
  });

  it('allow the host of an endpoint set explicitly, once, and not the public hosts a list leaves out', () => {
    const mirror = loadConfig({ ALLOWED_HOSTS: 's3.example', HF_ENDPOINT: 'https://hf-mirror.example/' });
    expect(mirror.networkPolicy.allowedHosts).toEqual(['s3.example', 'hf-mirror.example']);
    expect(mirror.HF_ENDPOINT).toBe('https://hf-mirror.example');
    const both = loadConfig({ CIVITAI_ENDPOINT: 'http://127.0.0.1:8602', HF_ENDPOINT: 'http://127.0.0.1:8601' });
    expect(both.networkPolicy.allowedHosts).toEqual([...DEFAULT_ALLOWED_HOSTS, '127.0.0.1']);
    // Already allowed by a pattern: not added again.
    expect(loadConfig({ HF_ENDPOINT: 'https://mirror.huggingface.co' }).networkPolicy.allowedHosts).toEqual([
      ...DEFAULT_ALLOWED_HOSTS,
    ]);
    expect(() => loadConfig({ HF_ENDPOINT: 'ftp://x.example' })).toThrow(/HF_ENDPOINT=.*http/);
  });
});
