import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@model-manager/core';
import { Registry } from '@model-manager/registry';
import { volumePerTest } from './support/volume-per-test.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const logger = createLogger({ level: 'silent', name: 'test' });
/** How long both write at once; set IN_PLACE_WRITER_SECONDS=60 for the full minute. */
const seconds = Number(process.env.IN_PLACE_WRITER_SECONDS ?? 8);
const vol = volumePerTest('in-place');

beforeEach(async () => {});

function startRewriter(stopAt: number): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [path.join(here, 'fixtures', 'in-place-rewriter.mjs')], {
    env: { ...process.env, MODELS_DIR: vol.dir, STOP_AT: String(stopAt) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('the service and a process rewriting the registry in place', () => {
  it(
    `end with no entry's url, hash or pin lost (${seconds} s of both writing)`,
    async () => {
      const worker = new Registry({
        modelsDir: vol.dir,
        redis: vol.redis,
        lockKey: vol.lockKey,
        logger,
        hitFlushMs: 20,
      });
      const api = new Registry({ modelsDir: vol.dir, redis: vol.redis, lockKey: vol.lockKey, logger, hitFlushMs: 20 });
      const expected = new Map<string, { url: string; hash: string; pinned: boolean }>();
      const stopAt = Date.now() + seconds * 1000;
      const rewriter = startRewriter(stopAt);

      // At least a dozen models, however slow the machine.
      for (let i = 0; Date.now() < stopAt || i < 12; i++) {
        const name = `svc-${i}`;
        const body = randomBytes(64 + i);
        const filePath = path.join(vol.dir, 'loras', `${name}.safetensors`);
        writeFileSync(filePath, body);
        const url = `https://origin/${name}`;
        const hash = createHash('sha256').update(body).digest('hex');
        await worker.put('lora', name, {
          url,
          path: filePath,
          hash,
          downloaded_at: Date.now() / 1000,
          last_used: Date.now() / 1000,
          usage_count: 1,
          file_size: body.length,
        });
        expected.set(name, { url, hash, pinned: false });
        if (i % 3 === 0) {
          await api.setPinned('lora', name, true);
          expected.get(name)!.pinned = true;
        }
        if (i % 7 === 6) {
          const earlier = `svc-${i - 6}`;
          await api.setPinned('lora', earlier, false);
          expected.get(earlier)!.pinned = false;
        }
        api.recordHit('lora', `svc-${Math.floor(Math.random() * (i + 1))}`);
        await api.list();
      }
      await Promise.all([worker.flushHits(), api.flushHits()]);
      const { code, out } = await rewriter;
      expect(code).toBe(0);
      expect(JSON.parse(out).writes).toBeGreaterThan(10);

      // The rewriter's last write, from its old copy, came after the service's: the next read puts back what it dropped.
      const models = new Map((await api.list('lora')).map((m) => [m.name, m]));
      await Promise.all([worker.close(), api.close()]);
      const file = JSON.parse(readFileSync(path.join(vol.dir, 'cache_registry.json'), 'utf8'));
      const lost: string[] = [];
      for (const [name, want] of expected) {
        const model = models.get(name);
        const entry = file.loras[name];
        if (!model || model.url !== want.url || model.sha256 !== want.hash || model.pinned !== want.pinned)
          lost.push(`${name} (served)`);
        if (!entry || entry.url !== want.url || entry.hash !== want.hash || (entry.pinned === true) !== want.pinned)
          lost.push(`${name} (file)`);
      }
      expect(lost).toEqual([]);
      process.stdout.write(
        `in-place rewriter: ${JSON.parse(out).writes} whole-file writes, ${expected.size} service models, entries lost: ${lost.length}\n`,
      );
      // The rewriter's own models keep what it wrote, and a torn read was never taken for corruption.
      const pyModels = [...models.values()].filter((m) => m.name.startsWith('py-'));
      expect(pyModels.length).toBeGreaterThan(0);
      for (const m of pyModels) expect(m.url).toBe(`https://origin/${m.name}`);
      expect(readdirSync(vol.dir).filter((f) => f.includes('.corrupt-'))).toEqual([]);
    },
    (seconds + 60) * 1000,
  );
});
