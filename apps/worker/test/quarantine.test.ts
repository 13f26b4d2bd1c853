import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, volumeKeys } from '@model-manager/core';
import { Registry, prepareVolume, type RegistryEntry } from '@model-manager/registry';
import { stopHashThread } from '../src/download/file-hasher.js';
import { hashAsItIs } from '../src/maintenance/file-check.js';
import { moveToQuarantine } from '../src/maintenance/quarantine.js';
import { quarantine } from '../src/maintenance/verify-job.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const logger = createLogger({ level: 'silent', name: 'test' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dir: string;
let lockKey: string;
let registry: Registry;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mm-quarantine-'));
  lockKey = volumeKeys(`mmtest-quarantine-${randomBytes(4).toString('hex')}`, false).registryLock;
  await prepareVolume(dir);
  registry = new Registry({ modelsDir: dir, redis, lockKey, logger });
});
afterEach(async () => {
  await registry.close();
  await redis.del(lockKey);
  rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await stopHashThread();
  redis.disconnect();
});

/** A registered checkpoint whose file no longer has the registered hash. */
async function corruptModel(name: string) {
  const good = randomBytes(4096);
  const file = path.join(dir, 'checkpoints', `${name}.safetensors`);
  const entry: RegistryEntry = {
    url: 'https://example.invalid/m',
    path: file,
    hash: sha(good),
    downloaded_at: 1,
    last_used: 1,
    usage_count: 0,
    file_size: good.length,
  };
  await registry.put('checkpoint', name, entry);
  const bad = Buffer.from(good);
  bad[0]! ^= 0xff;
  writeFileSync(file, bad);
  const hashed = await hashAsItIs(file);
  if (hashed.status !== 'hashed') throw new Error(`not hashed: ${hashed.status}`);
  expect(hashed.hash).toBe(sha(bad));
  return { file, entry, hashed, good };
}

describe('quarantine', () => {
  it('never overwrites: the same name quarantined twice in one second gets a suffix', async () => {
    const at = new Date('2026-11-27T09:25:00.123Z');
    const a = path.join(dir, 'loras', 'x.safetensors');
    writeFileSync(a, 'first');
    const first = await moveToQuarantine(dir, 'lora', a, at);
    writeFileSync(a, 'second');
    const second = await moveToQuarantine(dir, 'lora', a, at);
    expect(path.basename(first)).toBe('x.safetensors.20261127T092500Z');
    expect(path.basename(second)).toBe('x.safetensors.20261127T092500Z-1');
    expect(readFileSync(first, 'utf8')).toBe('first');
    expect(readFileSync(second, 'utf8')).toBe('second');
    expect(readdirSync(path.join(dir, 'loras'))).toEqual([]);
  });

  it('moves the file it hashed and drops its entry', async () => {
    const { file, entry, hashed } = await corruptModel('bad');
    const moved = await quarantine(registry, dir, { kind: 'checkpoint', name: 'bad', entry }, hashed.file);
    expect(moved).toMatch(/\.quarantine\/checkpoints\/bad\.safetensors\.\d{8}T\d{6}Z$/);
    expect(readdirSync(path.join(dir, 'checkpoints'))).toEqual([]);
    expect(await registry.get('checkpoint', 'bad')).toBeUndefined();
    expect(path.basename(file)).toBe('bad.safetensors');
  });

  it('leaves a re-download that replaced the file meanwhile alone (new inode, same entry)', async () => {
    const { file, entry, hashed, good } = await corruptModel('raced');
    // A download publishes a fresh, good file by rename after the verify read the old one.
    writeFileSync(`${file}.new`, good);
    renameSync(`${file}.new`, file);
    expect(await quarantine(registry, dir, { kind: 'checkpoint', name: 'raced', entry }, hashed.file)).toBeNull();
    expect(sha(readFileSync(file))).toBe(sha(good));
    expect(await registry.get('checkpoint', 'raced')).toMatchObject({ hash: sha(good) });
  });

  it('leaves an entry that a re-download rewrote meanwhile alone', async () => {
    const { file, entry, hashed } = await corruptModel('rewritten');
    await registry.put('checkpoint', 'rewritten', { ...entry, downloaded_at: 2 });
    expect(await quarantine(registry, dir, { kind: 'checkpoint', name: 'rewritten', entry }, hashed.file)).toBeNull();
    expect(readdirSync(path.join(dir, 'checkpoints'))).toEqual([path.basename(file)]);
    expect((await registry.get('checkpoint', 'rewritten'))?.downloaded_at).toBe(2);
  });
});
