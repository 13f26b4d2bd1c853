import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { REDIS_URL, call, startApp, startService, type Service } from '../support/service.js';
import { smallVolume } from '../support/small-volume.js';

const MiB = 1024 * 1024;

describe('a worker killed mid-download', () => {
  const origin = new TestOrigin();
  let svc: Service;
  beforeAll(async () => {
    await origin.start();
    svc = await startService('crash', { JOB_LOCK_SECONDS: '2', MIN_FREE_BYTES: '0', SEGMENTS: '1' });
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
  });

  it('is replaced by a new worker that completes the job from the staging file', async () => {
    const size = 64 * MiB;
    const file = origin.addFile('killed.safetensors', size);
    const finalPath = path.join(svc.modelsDir, 'checkpoints', 'killed.safetensors');
    const res = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'killed',
      url: `${origin.url}/slow/killed.safetensors?ms=20&chunk=${512 * 1024}`,
      sha256: file.sha256,
    });
    await expect
      .poll(async () => (await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}`)).body.progress.bytes, {
        timeout: 30_000,
        interval: 50,
      })
      .toBeGreaterThanOrEqual(size / 2);
    await svc.worker.stop('SIGKILL');
    expect(existsSync(finalPath)).toBe(false);

    svc.worker = startApp('worker', svc.env);
    const done = await call(svc.apiUrl, 'GET', `/v1/jobs/${res.body.jobId}?wait=60`);
    expect(done.body).toMatchObject({ status: 'completed', model: { sha256: file.sha256, path: finalPath } });
    expect(origin.sent('killed.safetensors')).toBeLessThanOrEqual(size * 1.1);
    expect(readdirSync(path.join(svc.modelsDir, 'checkpoints'))).toEqual(['killed.safetensors']);
    expect(readdirSync(path.join(svc.modelsDir, '.incoming'))).toEqual([]);
    expect(svc.worker.logs.join('\n')).toContain('resuming download');
  });
});

describe('leftover staging files', () => {
  it('are swept once older than STAGING_GRACE_SECONDS when their job no longer exists, and only then', async () => {
    const svc = await startService('sweep', { STAGING_GRACE_SECONDS: '2' });
    const queue = new Queue('model-fetch', { connection: { url: REDIS_URL } as never, prefix: svc.prefix });
    try {
      const incoming = path.join(svc.modelsDir, '.incoming');
      const live = await queue.add(
        'fetch-model',
        { kind: 'lora', name: 'later', url: 'http://127.0.0.1:9/x', requestedAt: Date.now() },
        { delay: 600_000 },
      );
      const hourAgo = new Date(Date.now() - 3600_000);
      const plant = (name: string, old: boolean) => {
        writeFileSync(path.join(incoming, name), 'partial');
        if (old) utimesSync(path.join(incoming, name), hourAgo, hourAgo);
      };
      plant(`${svc.prefix}.999999.part`, true); // job gone, old: swept
      plant(`${svc.prefix}.999999.part.json`, true); // its metadata too
      plant(`${svc.prefix}.${live.id}.part`, true); // job still queued: kept for resume
      plant(`${svc.prefix}.888888.part`, false); // job gone but fresh: kept until old
      plant('another-deployment.5.part', true); // not ours: kept
      await expect
        .poll(() => readdirSync(incoming).sort(), { timeout: 10_000 })
        .toEqual([`${svc.prefix}.${live.id}.part`, `${svc.prefix}.888888.part`, 'another-deployment.5.part'].sort());
      // The log line follows the unlink and comes through the worker's stdout pipe: it may lag.
      await expect
        .poll(() => svc.worker.logs.join('\n'), { timeout: 10_000 })
        .toContain('swept a leftover staging file');
    } finally {
      await queue.close();
      await svc.stop();
    }
  });
});

describe('a full disk (a real 8 MiB tmpfs as the volume)', () => {
  const origin = new TestOrigin();
  const volume = smallVolume(8);
  let mounted = false;
  beforeAll(async () => {
    await origin.start();
    // CI and the dev machines run as root and can mount a size-limited tmpfs. Where that is not
    // allowed, the same test runs with ENOSPC injected below the download code instead.
    mounted = volume.mount();
    if (!mounted)
      console.warn(
        'cannot mount a tmpfs here (not root?): injecting ENOSPC after 6 MiB below the download code instead',
      );
  });
  afterAll(async () => {
    await origin.close();
    volume.remove();
  });

  it('fails a download that hits ENOSPC with DISK_FULL, removes its staging file, keeps the registry and the worker serving', async () => {
    const modelsDir = path.join(volume.dir, 'models');
    mkdirSync(modelsDir);
    const svc = await startService('enospc', {
      MODELS_DIR: modelsDir,
      MIN_FREE_BYTES: '0',
      ...(mounted ? {} : { MODEL_MANAGER_TEST_ENOSPC_AFTER_BYTES: String(6 * MiB) }),
    });
    try {
      const small = origin.addFile('small.safetensors', 1 * MiB);
      const first = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name: 'small',
        url: `${origin.url}/files/small.safetensors`,
        sha256: small.sha256,
      });
      expect(first.body.status).toBe('completed');

      // No Content-Length: the space check before writing cannot know, so the write hits ENOSPC.
      origin.addFile('big.safetensors', 16 * MiB);
      const big = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'checkpoint',
        name: 'big',
        url: `${origin.url}/files/big.safetensors?noLength=1`,
      });
      expect(big.status).toBe(502);
      expect(big.body.error.code).toBe('DISK_FULL');
      expect(readdirSync(path.join(modelsDir, 'checkpoints'))).toEqual([]);
      expect(readdirSync(path.join(modelsDir, '.incoming')).filter((f) => f.endsWith('.part'))).toEqual([]);
      const registry = JSON.parse(readFileSync(path.join(modelsDir, 'cache_registry.json'), 'utf8'));
      expect(Object.keys(registry.checkpoints)).toEqual([]);
      expect(registry.loras.small.hash).toBe(small.sha256);

      // With a Content-Length, it is refused before a byte is written (the real small disk only).
      if (mounted) {
        const known = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
          kind: 'checkpoint',
          name: 'known',
          url: `${origin.url}/files/big.safetensors`,
        });
        expect(known.body.error.code).toBe('DISK_FULL');
        expect(known.body.error.message).toMatch(/not enough space/);
      }

      const after = origin.addFile('after.safetensors', 1 * MiB);
      const next = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
        kind: 'lora',
        name: 'after',
        url: `${origin.url}/files/after.safetensors`,
        sha256: after.sha256,
      });
      expect(next.body.status).toBe('completed');
      expect((await call(svc.apiUrl, 'GET', '/v1/models/lora/small')).status).toBe(200);
    } finally {
      await svc.stop();
    }
  });
});
