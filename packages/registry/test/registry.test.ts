import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@model-manager/core';
import { Registry, planCleanup, volumeId, type RegistryData } from '@model-manager/registry';
import { REDIS_URL } from '../../../test/support/redis-url.js';
import { testEntry } from './support/test-entry.js';
import { volumePerTest } from './support/volume-per-test.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const logs: string[] = [];
const logger = createLogger({ level: 'warn', name: 'test' });
logger.warn = ((obj: unknown, msg?: string) => {
  logs.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
}) as typeof logger.warn;

const vol = volumePerTest('registry');
const open = () => new Registry({ modelsDir: vol.dir, redis: vol.redis, lockKey: vol.lockKey, logger, hitFlushMs: 50 });
const registryFile = () => path.join(vol.dir, 'cache_registry.json');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function runWriter(writer: number, count: number): Promise<number | null> {
  const child = spawn(process.execPath, [path.join(here, 'fixtures', 'writer.mjs')], {
    env: {
      ...process.env,
      MODELS_DIR: vol.dir,
      LOCK_KEY: vol.lockKey,
      REDIS_URL,
      WRITER: String(writer),
      COUNT: String(count),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((resolve) => child.on('exit', resolve));
}

describe('registry shared by many processes', () => {
  it('loses no update when separate OS processes write at once, and no reader sees a torn file', async () => {
    const writers = 4;
    const count = 25;
    const seed = open();
    await seed.put(
      'checkpoint',
      'shared',
      testEntry(path.join(vol.dir, 'checkpoints', 'shared.safetensors'), { url: 'u' }),
    );
    await seed.close();
    let reads = 0;
    let torn = 0;
    let running = true;
    const reader = (async () => {
      while (running) {
        try {
          JSON.parse(readFileSync(registryFile(), 'utf8'));
          reads += 1;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') torn += 1;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const codes = await Promise.all(Array.from({ length: writers }, (_, w) => runWriter(w, count)));
    running = false;
    await reader;
    expect(codes).toEqual(Array(writers).fill(0));

    const data = JSON.parse(readFileSync(registryFile(), 'utf8')) as RegistryData;
    expect(Object.keys(data.loras)).toHaveLength(writers * count);
    for (let w = 0; w < writers; w++)
      for (let i = 0; i < count; i++) expect(data.loras[`w${w}-${i}`]?.file_size).toBe(i);
    // Batched hits from every process all arrived.
    expect(data.checkpoints.shared?.usage_count).toBe(writers * count);
    expect(reads).toBeGreaterThan(0);
    expect(torn).toBe(0);
    // No temporary files left beside the registry.
    expect(readdirSync(vol.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('cache checks', () => {
  it('hits without hashing: entry, file, size, and the sha256 compared case-insensitively', async () => {
    const body = randomBytes(4096);
    const file = path.join(vol.dir, 'checkpoints', 'm.safetensors');
    writeFileSync(file, body);
    const registry = open();
    await registry.put('checkpoint', 'm', testEntry(file, { url: 'u', hash: sha(body), file_size: body.length }));

    expect((await registry.check('checkpoint', 'm', sha(body).toUpperCase())).hit).toBe(true);
    // Other bytes of the same size still hit: a hit checks size, never re-hashes the file.
    writeFileSync(file, randomBytes(body.length));
    expect((await registry.check('checkpoint', 'm', sha(body))).hit).toBe(true);
    expect(await registry.check('checkpoint', 'm', 'f'.repeat(64))).toEqual({ hit: false, reason: 'hash-differs' });
    expect(await registry.check('lora', 'm')).toEqual({ hit: false, reason: 'absent' });
    writeFileSync(file, body.subarray(1));
    expect(await registry.check('checkpoint', 'm')).toEqual({ hit: false, reason: 'size-differs' });
    rmSync(file);
    expect(await registry.check('checkpoint', 'm')).toEqual({ hit: false, reason: 'file-missing' });
    await registry.close();
  });

  it("with recheckMs, sees another process's write at once after invalidate(), and answers a burst of lookups alike", async () => {
    const api = new Registry({
      modelsDir: vol.dir,
      redis: vol.redis,
      lockKey: vol.lockKey,
      logger,
      hitFlushMs: 50,
      recheckMs: 60_000,
    });
    const worker = open();
    const file = path.join(vol.dir, 'loras', 'late.safetensors');
    writeFileSync(file, 'x');
    // The file is missing at first: the burst shares one answer, and that answer is kept.
    const burst = await Promise.all(Array.from({ length: 500 }, (_, i) => api.check('lora', i % 2 ? 'late' : 'other')));
    expect(burst.every((c) => !c.hit && c.reason === 'absent')).toBe(true);
    await worker.put('lora', 'late', testEntry(file, { url: 'u' }));
    expect((await api.check('lora', 'late')).hit).toBe(false); // within recheckMs: the kept answer
    api.invalidate(); // what the API does when a job completes
    expect((await api.check('lora', 'late')).hit).toBe(true);
    await Promise.all([api.close(), worker.close()]);
  });

  it('reads a registry written at /workspace/models (as the Python module writes it), mounted elsewhere', async () => {
    const body = randomBytes(100);
    writeFileSync(path.join(vol.dir, 'loras', 'old.safetensors'), body);
    writeFileSync(
      registryFile(),
      JSON.stringify({
        checkpoints: {},
        loras: {
          old: {
            url: 'https://civitai.example/1',
            path: '/workspace/models/loras/old.safetensors',
            hash: sha(body).toUpperCase(),
            downloaded_at: 1764201600.5,
            last_used: 1764201600.5,
            usage_count: 3,
            file_size: 100,
          },
        },
        embeddings: {},
        last_updated: 1764201600.5,
      }),
    );
    const registry = open();
    const check = await registry.check('lora', 'old', sha(body));
    expect(check.hit).toBe(true);
    if (check.hit)
      expect(check.model).toMatchObject({
        path: path.join(vol.dir, 'loras', 'old.safetensors'),
        usageCount: 3,
        sha256: sha(body),
        downloadedAt: '2025-11-27T00:00:00.500Z',
      });

    registry.recordHit('lora', 'old');
    await registry.close(); // flushes batched hits
    const data = JSON.parse(readFileSync(registryFile(), 'utf8'));
    expect(data.loras.old.usage_count).toBe(4);
    expect(data.loras.old.path).toBe('/workspace/models/loras/old.safetensors'); // other fields keep their meaning
  });
});

describe('a corrupt registry', () => {
  it('is kept aside, a warning is logged, and the registry is rebuilt from the folders, hashes filled in after', async () => {
    const a = randomBytes(2048);
    const b = randomBytes(1024);
    writeFileSync(path.join(vol.dir, 'checkpoints', 'sdxl base.safetensors'), a);
    writeFileSync(path.join(vol.dir, 'loras', 'detail.pt'), b);
    writeFileSync(path.join(vol.dir, 'loras', 'notes.txt'), 'not a model');
    writeFileSync(registryFile(), '{"checkpoints": {"half-writ');

    const registry = open();
    const models = await registry.list();
    expect(models.map((m) => `${m.kind}/${m.name}`).sort()).toEqual(['checkpoint/sdxl base', 'lora/detail']);
    // Hashes are filled in after the rebuild, outside the lease.
    expect(await registry.check('checkpoint', 'sdxl base', sha(a))).toEqual({ hit: false, reason: 'hash-pending' });
    expect((await registry.check('checkpoint', 'sdxl base')).hit).toBe(true);
    await registry.fillPendingHashes();
    expect((await registry.model('lora', 'detail'))?.sha256).toBe(sha(b));
    expect((await registry.check('checkpoint', 'sdxl base', sha(a).toUpperCase())).hit).toBe(true);
    expect((await registry.get('checkpoint', 'sdxl base'))?.hash_pending).toBeUndefined();

    const aside = readdirSync(vol.dir).filter((f) => f.startsWith('cache_registry.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(path.join(vol.dir, aside[0]!), 'utf8')).toBe('{"checkpoints": {"half-writ');
    expect(JSON.parse(readFileSync(registryFile(), 'utf8')).checkpoints['sdxl base'].hash).toBe(sha(a));
    expect(logs.join('\n')).toContain('registry file is unreadable');
    await registry.close();
  });

  it('is read again while another process rewrites it in place, and never taken for corrupt then', async () => {
    const file = path.join(vol.dir, 'loras', 'a.safetensors');
    writeFileSync(file, 'abc');
    const good = {
      loras: {
        a: {
          url: 'https://origin/a',
          path: file,
          hash: 'ab'.repeat(32),
          downloaded_at: 1,
          last_used: 1,
          usage_count: 3,
          file_size: 3,
        },
      },
    };
    writeFileSync(registryFile(), ''); // truncated, the rest not yet written
    setTimeout(() => writeFileSync(registryFile(), JSON.stringify(good)), 300);
    const registry = open();
    expect(await registry.model('lora', 'a')).toMatchObject({ url: 'https://origin/a', usageCount: 3 });
    expect(readdirSync(vol.dir).filter((f) => f.includes('.corrupt-'))).toEqual([]);
    await registry.close();
  });

  it('when really corrupt, is rebuilt from the last registry the service wrote: known models keep url, hash, pin and counts', async () => {
    const body = (n: number) => Buffer.alloc(n, 'm');
    const put = async (registry: Registry, name: string, size: number) => {
      const file = path.join(vol.dir, 'loras', `${name}.safetensors`);
      writeFileSync(file, body(size));
      await registry.put(
        'lora',
        name,
        testEntry(file, {
          url: `https://origin/${name}`,
          hash: sha(body(size)),
          usage_count: 5,
          file_size: size,
          civitai: { id: size },
        }),
      );
    };
    const first = open();
    await put(first, 'known', 10);
    await put(first, 'deleted', 11);
    await first.setPinned('lora', 'known', true);
    await first.close();
    rmSync(path.join(vol.dir, 'loras', 'deleted.safetensors'));
    writeFileSync(path.join(vol.dir, 'loras', 'stranger.safetensors'), body(12));
    writeFileSync(registryFile(), '{"loras": {"known": {"url": "https://origin/kn');

    const registry = open();
    expect(await registry.model('lora', 'known')).toMatchObject({
      url: 'https://origin/known',
      sha256: sha(body(10)),
      pinned: true,
      usageCount: 5,
    });
    expect((await registry.get('lora', 'known'))?.civitai).toEqual({ id: 10 });
    expect(await registry.get('lora', 'deleted')).toBeUndefined();
    expect(await registry.get('lora', 'stranger')).toMatchObject({ url: '', hash_pending: true });
    expect(await registry.fillPendingHashes()).toBe(1); // only the unknown file is hashed
    expect(logs.join('\n')).toContain('"known":1,"unknown":1');
    await registry.close();
  });

  it('restores entries a whole-file rewrite from an older copy dropped, while their files are there at their size', async () => {
    const registry = open();
    const file = (name: string) => path.join(vol.dir, 'loras', `${name}.safetensors`);
    const put = async (name: string) => {
      writeFileSync(file(name), name);
      await registry.put(
        'lora',
        name,
        testEntry(file(name), {
          url: `https://origin/${name}`,
          hash: sha(Buffer.from(name)),
          usage_count: 1,
          file_size: name.length,
        }),
      );
    };
    await put('old');
    const olderCopy = readFileSync(registryFile(), 'utf8'); // what another process loaded
    await put('added');
    await put('removed-by-hand');
    await put('rewritten');
    await registry.setPinned('lora', 'old', true);
    rmSync(file('removed-by-hand'));
    writeFileSync(file('rewritten'), 'other bytes entirely');
    writeFileSync(registryFile(), olderCopy); // its whole-file rewrite, in place

    expect(await registry.model('lora', 'added')).toMatchObject({
      url: 'https://origin/added',
      sha256: sha(Buffer.from('added')),
    });
    expect((await registry.model('lora', 'old'))?.pinned).toBe(true);
    expect(await registry.get('lora', 'removed-by-hand')).toBeUndefined();
    expect(await registry.get('lora', 'rewritten')).toBeUndefined();
    const written = JSON.parse(readFileSync(registryFile(), 'utf8'));
    expect(Object.keys(written.loras).sort()).toEqual(['added', 'old']);
    expect(logs.join('\n')).toContain('restored what it dropped');
    await registry.close();
  });

  it('starts empty when the file is missing', async () => {
    const registry = open();
    expect(await registry.list()).toEqual([]);
    expect(existsSync(registryFile())).toBe(false);
    await registry.close();
  });
});

describe('volume id', () => {
  it('is created once: processes starting together agree on one id', async () => {
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'mm-volume-'));
    try {
      const ids = await Promise.all(Array.from({ length: 20 }, () => volumeId(fresh)));
      expect(new Set(ids).size).toBe(1);
      expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(readdirSync(fresh)).toEqual(['.volume-id']);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

describe('cleanup rule', () => {
  const entry = (usage: number, lastUsedDaysAgo: number, size = 10) => ({
    url: '',
    path: '/x',
    hash: '',
    downloaded_at: 0,
    last_used: 100 * 86_400 - lastUsedDaysAgo * 86_400,
    usage_count: usage,
    file_size: size,
  });
  it('keeps the keepPopular most used (ties: most recent), removes the rest older than maxAgeDays', () => {
    const data: RegistryData = {
      checkpoints: { popular: entry(50, 90), recentTie: entry(5, 40), oldTie: entry(5, 60) },
      loras: { fresh: entry(0, 1), stale: entry(1, 31) },
      embeddings: {},
      last_updated: 0,
    };
    const removed = planCleanup(data, { maxAgeDays: 30, keepPopular: 2, nowSeconds: 100 * 86_400 });
    expect(removed.map((r) => r.name).sort()).toEqual(['oldTie', 'stale']);
    expect(
      planCleanup(data, { maxAgeDays: 30, keepPopular: 0, nowSeconds: 100 * 86_400 })
        .map((r) => r.name)
        .sort(),
    ).toEqual(['oldTie', 'popular', 'recentTie', 'stale']);
  });
});
