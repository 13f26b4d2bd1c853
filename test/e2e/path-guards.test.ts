import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { call, startService, type Service } from '../support/service.js';

describe('nothing a request carries reaches outside MODELS_DIR', () => {
  const origin = new TestOrigin();
  let svc: Service;
  let outside: string;
  const bait = () => path.join(outside, 'bait.txt');

  beforeAll(async () => {
    await origin.start();
    svc = await startService('paths', { SEGMENTS: '1' });
    outside = mkdtempSync(path.join(os.tmpdir(), 'mm-outside-'));
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
    rmSync(outside, { recursive: true, force: true });
  });

  it('refuses every traversal form of a name or kind with a 400 naming the field, writing nothing', async () => {
    writeFileSync(bait(), 'do not touch');
    const url = `${origin.url}/files/never.safetensors`;
    const names = [
      '..',
      '../x',
      '../../etc/passwd',
      'a/b',
      'a\\b',
      '/etc/passwd',
      '.hidden',
      'a\u0000b',
      'x'.repeat(201),
      'x ',
      'x.',
      'C:\\x',
      'a\nb',
      '',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'toString',
      'prototype',
    ];
    for (const name of names) {
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch', { kind: 'lora', name, url });
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain('name');
    }
    for (const kind of ['../loras', 'loras', 'lora/..', 'LORA']) {
      expect((await call(svc.apiUrl, 'POST', '/v1/fetch', { kind, name: 'x', url })).status).toBe(400);
    }
    for (const route of [
      '/v1/models/lora/..%2F..%2Fetc%2Fpasswd',
      '/v1/models/lora/.%2e%2fx',
      '/v1/models/..%2Floras/x',
      '/v1/models/lora/a%00b',
      `/v1/models/lora/${encodeURIComponent(bait())}`,
    ]) {
      const got = await call(svc.apiUrl, 'GET', route);
      const deleted = await call(svc.apiUrl, 'DELETE', route);
      expect([got.status, deleted.status], route).toEqual([400, 400]);
    }
    expect(readFileSync(bait(), 'utf8')).toBe('do not touch');
    expect(origin.hitCount('/files/never.safetensors')).toBe(0);
  });

  it('writes through no symlink planted at the staging file or the final file, and deletes the link, not its target', async () => {
    writeFileSync(bait(), 'do not touch');
    // Job ids start at 1 under a fresh prefix, so the first job's staging name is predictable.
    const staging = path.join(svc.modelsDir, '.incoming', `${svc.prefix}.1.part`);
    symlinkSync(bait(), staging);
    symlinkSync(bait(), path.join(svc.modelsDir, 'loras', 'planted.safetensors'));
    const file = origin.addFile('planted.safetensors', 50_000);
    const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'planted',
      url: `${origin.url}/files/planted.safetensors`,
      sha256: file.sha256,
    });
    expect(res.body).toMatchObject({ status: 'completed', jobId: '1' });
    expect(readFileSync(bait(), 'utf8')).toBe('do not touch');
    const published = res.body.model.path as string;
    expect(lstatSync(published).isFile()).toBe(true); // the link was replaced, not written through
    expect(readFileSync(published).equals(file.body)).toBe(true);
    expect(readdirSync(path.join(svc.modelsDir, '.incoming')).filter((f) => f.endsWith('.part'))).toEqual([]);

    // The model's file swapped for a link to something outside: deleting the model removes the link.
    rmSync(published);
    symlinkSync(bait(), published);
    expect((await call(svc.apiUrl, 'DELETE', '/v1/models/lora/planted')).status).toBe(204);
    expect(existsSync(published)).toBe(false);
    expect(readFileSync(bait(), 'utf8')).toBe('do not touch');
  });

  it('neither writes nor deletes through a kind folder replaced by a symlink that leads outside the volume', async () => {
    const file = origin.addFile('through-folder.safetensors', 20_000);
    const kept = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'embedding',
      name: 'kept',
      url: `${origin.url}/files/through-folder.safetensors`,
      sha256: file.sha256,
    });
    expect(kept.body.status).toBe('completed');
    const folder = path.join(svc.modelsDir, 'embeddings');
    const real = `${folder}.real`;
    renameSync(folder, real);
    symlinkSync(outside, folder);
    try {
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'embedding',
        name: 'escape',
        url: `${origin.url}/files/through-folder.safetensors`,
        sha256: file.sha256,
      });
      expect(res.body.status).toBe('failed');
      expect(res.body.error).toMatchObject({
        code: 'WRITE_ERROR',
        message: expect.stringContaining('leads outside MODELS_DIR'),
      });
      writeFileSync(path.join(outside, 'kept.safetensors'), 'not the model');
      const refused = await call(svc.apiUrl, 'DELETE', '/v1/models/embedding/kept');
      expect(refused.status).toBe(500);
      expect(refused.body.error).toMatchObject({
        code: 'VOLUME_UNWRITABLE',
        message: expect.stringContaining('leads outside MODELS_DIR'),
      });
      expect(readdirSync(outside).sort()).toEqual(['bait.txt', 'kept.safetensors']);
      expect(readFileSync(path.join(outside, 'kept.safetensors'), 'utf8')).toBe('not the model');
    } finally {
      rmSync(folder);
      renameSync(real, folder);
    }
  });

  // Last in the file: earlier tests count on the job ids of a fresh prefix.
  it('stores look-alikes of path characters literally, as one file in the kind folder', async () => {
    const file = origin.addFile('look-alike.safetensors', 20_000);
    const url = `${origin.url}/files/look-alike.safetensors`;
    for (const name of ['%2e%2e%2fx', 'a\u2215b', '\uff0e\uff0e', 'ａ', ' x']) {
      const res = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', { kind: 'lora', name, url, sha256: file.sha256 });
      expect(res.body.status, JSON.stringify(name)).toMatch(/^(completed|cached|linked)$/);
      expect(res.body.model.path).toBe(path.join(svc.modelsDir, 'loras', `${name}.safetensors`));
      const got = await call(svc.apiUrl, 'GET', `/v1/models/lora/${encodeURIComponent(name)}`);
      expect(got.body.name).toBe(name);
    }
    expect(readFileSync(bait(), 'utf8')).toBe('do not touch');
  });
});
