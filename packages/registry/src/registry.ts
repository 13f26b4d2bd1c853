import { randomBytes } from 'node:crypto';
import { link, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  KIND_DIRS,
  MODEL_KINDS,
  MODEL_EXTENSIONS,
  REGISTRY_FILE,
  STAGING_DIR,
  fileStem,
  kindDir,
  nameProblem,
  nowSeconds,
  secondsToIso,
  volumeKeys,
  type Config,
  type Logger,
  type Model,
  type ModelKind,
  type RedisClient,
} from '@model-manager/core';
import { sourceOfEntry } from './entry-source.js';
import { hashFile, sameHash } from './hashing.js';
import { RedisLease } from './redis-lease.js';
import { assertInsideVolume, volumeId } from './volume.js';
import { LastGoodCopy, WRITE_ID_KEY, lastGoodPath, newWriteId, writeIdOf } from './last-good.js';
import { rebuildFromLastGood } from './rebuild-plan.js';
import {
  emptyRegistry,
  isUsableEntry,
  sectionOf,
  serializeRegistry,
  unreadableEntries,
  writeFileAtomic,
  type RegistryData,
  type RegistryEntry,
} from './registry-file.js';
import { restoreLost } from './restore-lost.js';
import { readSettledRegistry, type SettleOptions } from './settled-read.js';

export interface RegistryOptions {
  modelsDir: string;
  redis: RedisClient;
  /**
   * Redis key of the lease that serialises writers across every process and host. By default
   * it is derived from the volume's id, so processes of any prefix sharing the volume agree.
   */
  lockKey?: string;
  logger: Logger;
  /** How often batched cache hits reach the file. */
  hitFlushMs?: number;
  leaseTtlMs?: number;
  /**
   * How long a read trusts the file not to have changed before checking again (a stat). 0: check
   * on every read. The API uses a second and calls invalidate() whenever a job finishes.
   */
  recheckMs?: number;
  /**
   * How a whole file is hashed (entries a rebuild left without a hash). The worker passes its
   * hashing thread, so start-up hashing never holds the event loop its downloads need.
   */
  hashFile?: (filePath: string) => Promise<string>;
  /** How long a registry that does not parse is read again before it counts as corrupt. */
  settle?: SettleOptions;
}

export type CacheCheck =
  | { hit: true; model: Model; entry: RegistryEntry }
  | { hit: false; reason: 'absent' | 'file-missing' | 'size-differs' | 'hash-differs' | 'hash-pending' };

interface PendingHit {
  kind: ModelKind;
  name: string;
  count: number;
  lastUsed: number;
}

/** Converts a registry entry to the API's `Model`. */
export function toModel(kind: ModelKind, name: string, entry: RegistryEntry, filePath: string): Model {
  const source = sourceOfEntry(entry);
  return {
    kind,
    name,
    path: filePath,
    url: entry.url ?? '',
    sha256: (entry.hash ?? '').toLowerCase(),
    fileSize: entry.file_size,
    downloadedAt: secondsToIso(entry.downloaded_at ?? 0),
    lastUsed: secondsToIso(entry.last_used ?? entry.downloaded_at ?? 0),
    usageCount: entry.usage_count ?? 0,
    pinned: entry.pinned === true,
    ...(source ? { source } : {}),
  };
}

/**
 * cache_registry.json on the shared volume. Reads are served from memory and re-read only when
 * the file changed (it is replaced by rename, so its inode changes); every write takes the
 * Redis lease, re-reads the file, applies the change and replaces the file atomically, so
 * concurrent writers on any host lose no update.
 */
export class Registry {
  readonly file: string;
  private readonly lease: RedisLease;
  private cached: { signature: string; data: RegistryData; checkedAt: number } | undefined;
  private reading: Promise<RegistryData> | undefined;
  private generation = 0;
  private readonly pendingHits = new Map<string, PendingHit>();
  private readonly flushTimer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private filling: Promise<number> | undefined;
  private readonly lastGood: LastGoodCopy;

  /** The registry of a service process: its volume, its Redis, the lease under its queue prefix. */
  static forService(
    config: Config,
    redis: RedisClient,
    logger: Logger,
    options: Pick<RegistryOptions, 'recheckMs' | 'hashFile'> = {},
  ): Registry {
    return new Registry({
      modelsDir: config.modelsDir,
      redis,
      logger,
      hitFlushMs: config.HIT_FLUSH_SECONDS * 1000,
      ...options,
    });
  }

  constructor(private readonly options: RegistryOptions) {
    this.file = path.join(options.modelsDir, REGISTRY_FILE);
    this.lastGood = new LastGoodCopy(lastGoodPath(this.file));
    this.lease = new RedisLease(
      options.redis,
      // One lease per volume, whatever QUEUE_PREFIX the processes sharing it use.
      options.lockKey ??
        (async () => volumeKeys(await volumeId(options.modelsDir), options.redis.isCluster).registryLock),
      { ttlMs: options.leaseTtlMs ?? 15_000 },
    );
    this.flushTimer = setInterval(() => void this.flushHits().catch(() => {}), options.hitFlushMs ?? 2000);
    this.flushTimer.unref();
  }

  /** The volume this registry describes. */
  get modelsDir(): string {
    return this.options.modelsDir;
  }

  /**
   * Where an entry's file lives on this host. Entries keep the absolute path they were written
   * with (the old module always wrote /workspace/models/...); the volume may be mounted elsewhere
   * (/runpod-volume), so the file is looked up by name in this volume's folder for its kind.
   * This also means no registry content can point the service outside MODELS_DIR.
   */
  localPath(kind: ModelKind, entry: RegistryEntry): string | null {
    const base = path.basename(entry.path);
    if (!base || base === '.' || base === '..') return null;
    return path.join(kindDir(this.options.modelsDir, kind), base);
  }

  /** Forget what was read: the next read checks the file (another process changed it). */
  invalidate(): void {
    this.cached = undefined;
    this.reading = undefined;
    this.generation++;
  }

  /**
   * The registry as last written, re-read only when the file changed (checked at most every
   * `recheckMs`). Callers arriving while a check is under way share it: a batch of a thousand
   * lookups costs one stat(2), not a thousand.
   */
  read(): Promise<RegistryData> {
    const recheckMs = this.options.recheckMs ?? 0;
    if (this.cached && recheckMs > 0 && Date.now() - this.cached.checkedAt < recheckMs)
      return Promise.resolve(this.cached.data);
    if (!this.reading) {
      const reading = this.readFile(this.generation).finally(() => {
        if (this.reading === reading) this.reading = undefined;
      });
      this.reading = reading;
    }
    return this.reading;
  }

  private async readFile(generation: number, reconcile = true): Promise<RegistryData> {
    // Results of a read that an invalidate() overtook are returned but not kept.
    const keep = (signature: string, data: RegistryData) => {
      if (generation === this.generation) this.cached = { signature, data, checkedAt: Date.now() };
      return data;
    };
    let signature: string;
    try {
      const st = await stat(this.file);
      signature = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return keep('missing', emptyRegistry());
    }
    if (this.cached?.signature === signature) return keep(signature, this.cached.data);
    const result = await readSettledRegistry(this.file, this.options.settle);
    if (result.status === 'missing') return keep('missing', emptyRegistry());
    // Corrupt, or rewritten from a copy older than the service's last write: under the lease,
    // update() rebuilds or restores what was lost (writing only then), and the file is read again.
    if (reconcile && (result.status === 'corrupt' || writeIdOf(result.data) !== (await this.lastGood.writeId()))) {
      // A file that just stayed unreadable for the whole settle time is not waited for again.
      await this.update(() => undefined, {
        write: () => false,
        settle: result.status === 'corrupt' ? { settleMs: 0 } : undefined,
      });
      return this.readFile(generation, false);
    }
    if (result.status === 'corrupt') throw new Error(`registry unreadable: ${result.reason}`);
    const unreadable = unreadableEntries(result.data);
    if (unreadable.length > 0)
      this.options.logger.warn(
        { file: this.file, unreadable },
        'registry entries that make no sense are treated as absent (and kept in the file as they are)',
      );
    return keep(signature, result.data);
  }

  async get(kind: ModelKind, name: string): Promise<RegistryEntry | undefined> {
    const entry = (await this.read())[sectionOf(kind)][name];
    return isUsableEntry(entry) ? entry : undefined;
  }

  /** One model as the API shows it, or undefined when the registry has no usable entry. */
  async model(kind: ModelKind, name: string): Promise<Model | undefined> {
    const entry = await this.get(kind, name);
    const filePath = entry && this.localPath(kind, entry);
    return entry && filePath ? toModel(kind, name, entry, filePath) : undefined;
  }

  /** A model on the volume with this content (hash recorded, file present at its recorded size). */
  async findByHash(sha256: string): Promise<{ kind: ModelKind; name: string; path: string; size: number } | null> {
    const data = await this.read();
    for (const kind of MODEL_KINDS) {
      for (const [name, entry] of Object.entries(data[sectionOf(kind)])) {
        if (!isUsableEntry(entry) || entry.hash_pending === true || !sameHash(entry.hash, sha256)) continue;
        const filePath = this.localPath(kind, entry);
        if (!filePath) continue;
        try {
          const st = await stat(filePath);
          if (st.isFile() && st.size === entry.file_size) return { kind, name, path: filePath, size: st.size };
        } catch {
          /* listed but gone: keep looking */
        }
      }
    }
    return null;
  }

  async list(kind?: ModelKind): Promise<Model[]> {
    const data = await this.read();
    const models: Model[] = [];
    for (const k of kind ? [kind] : MODEL_KINDS) {
      for (const [name, entry] of Object.entries(data[sectionOf(k)])) {
        if (!isUsableEntry(entry)) continue;
        const filePath = this.localPath(k, entry);
        if (filePath) models.push(toModel(k, name, entry, filePath));
      }
    }
    return models;
  }

  /**
   * A cache hit without re-hashing: the entry exists, the file exists with the recorded size,
   * and the requested sha256 (if any) equals the recorded one, case-insensitively.
   */
  async check(kind: ModelKind, name: string, sha256?: string): Promise<CacheCheck> {
    const entry = await this.get(kind, name);
    if (!entry) return { hit: false, reason: 'absent' };
    const filePath = this.localPath(kind, entry);
    if (!filePath) return { hit: false, reason: 'file-missing' };
    let size: number;
    try {
      const st = await stat(filePath);
      if (!st.isFile()) return { hit: false, reason: 'file-missing' };
      size = st.size;
    } catch {
      return { hit: false, reason: 'file-missing' };
    }
    if (size !== entry.file_size) return { hit: false, reason: 'size-differs' };
    if (sha256 && entry.hash_pending === true) return { hit: false, reason: 'hash-pending' };
    if (sha256 && !sameHash(sha256, entry.hash)) return { hit: false, reason: 'hash-differs' };
    return { hit: true, entry, model: toModel(kind, name, entry, filePath) };
  }

  /**
   * Applies a change under the lease to a fresh read of the file and writes it back atomically.
   * `mutate` may return a value; return `false` from `changed` to skip the write.
   */
  async update<T>(
    mutate: (data: RegistryData, held: { assertHeld: () => Promise<void> }) => T | Promise<T>,
    options: {
      write?: (result: T) => boolean;
      /**
       * Runs under the lease after the new registry is written to its temporary file and before
       * it replaces the old one; if it throws, the registry is left as it was.
       */
      beforeCommit?: (held: { assertHeld: () => Promise<void> }) => Promise<void>;
      /** How a file that does not parse is read again (default: the registry's `settle`). */
      settle?: SettleOptions;
    } = {},
  ): Promise<T> {
    return this.lease.withLease(async (held) => {
      let data: RegistryData;
      const result = await readSettledRegistry(this.file, options.settle ?? this.options.settle);
      // A rebuilt or restored registry is always written, even when the change itself is a no-op.
      let mustWrite = false;
      if (result.status === 'ok') {
        data = result.data;
        mustWrite = (await restoreLost(data, this.lastGood, this.restoreContext())) > 0;
      } else if (result.status === 'missing') data = emptyRegistry();
      else {
        data = await this.recoverCorrupt(result.reason);
        mustWrite = true;
        setImmediate(() => void this.fillPendingHashes());
      }
      const value = await mutate(data, held);
      if (!mustWrite && options.write && !options.write(value)) return value;
      data.last_updated = nowSeconds();
      data[WRITE_ID_KEY] = newWriteId();
      await held.assertHeld();
      const text = serializeRegistry(data);
      await writeFileAtomic(this.file, text, options.beforeCommit && (() => options.beforeCommit!(held)));
      this.invalidate();
      // Still under the lease, so the copy is the registry just written. Losing it costs only
      // what a later rebuild or restore could have used; the registry itself is in place.
      await this.lastGood
        .write(text)
        .catch((err: unknown) =>
          this.options.logger.warn(
            { err, file: this.lastGood.file },
            'could not keep a copy of the registry beside it',
          ),
        );
      return value;
    });
  }

  private restoreContext() {
    return {
      localPath: (kind: ModelKind, entry: RegistryEntry) => this.localPath(kind, entry),
      logger: this.options.logger,
    };
  }

  async put(kind: ModelKind, name: string, entry: RegistryEntry): Promise<void> {
    await this.update((data) => {
      data[sectionOf(kind)][name] = entry;
    });
  }

  /** Counts a cache hit; hits reach the file in batches (every few seconds and at close). */
  recordHit(kind: ModelKind, name: string): void {
    const key = `${kind}/${name}`;
    const hit = this.pendingHits.get(key);
    if (hit) {
      hit.count += 1;
      hit.lastUsed = nowSeconds();
    } else this.pendingHits.set(key, { kind, name, count: 1, lastUsed: nowSeconds() });
  }

  async flushHits(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pendingHits.size === 0) return;
    const hits = [...this.pendingHits.values()];
    this.pendingHits.clear();
    this.flushing = this.update((data) => {
      for (const hit of hits) {
        const entry = data[sectionOf(hit.kind)][hit.name];
        if (!isUsableEntry(entry)) continue;
        entry.usage_count = (entry.usage_count ?? 0) + hit.count;
        entry.last_used = Math.max(entry.last_used ?? 0, hit.lastUsed);
      }
    })
      .catch((err: unknown) => {
        // Put them back so the next flush carries them.
        for (const hit of hits) {
          const key = `${hit.kind}/${hit.name}`;
          const pending = this.pendingHits.get(key);
          if (pending) {
            pending.count += hit.count;
            pending.lastUsed = Math.max(pending.lastUsed, hit.lastUsed);
          } else this.pendingHits.set(key, hit);
        }
        this.options.logger.warn({ err }, 'could not write cache hits to the registry; will retry');
        throw err;
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Stops the flush timer and writes pending hits. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    if (this.filling) await this.filling;
    if (this.flushing) await this.flushing.catch(() => {});
    await this.flushHits().catch(() => {});
  }

  /**
   * Under the lease: keep a copy of the unreadable file aside and rebuild the registry from the
   * folders. The copy is a hard link, so the unreadable file stays in place until the rebuilt
   * registry replaces it: a crash in between leaves something to recover from again, not nothing.
   */
  private async recoverCorrupt(reason: string): Promise<RegistryData> {
    const base = `${this.file}.corrupt-${Math.floor(Date.now() / 1000)}`;
    let aside = base;
    for (let n = 1; ; n++) {
      try {
        await link(this.file, aside);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
        aside = `${base}-${n}`;
      }
    }
    this.options.logger.warn(
      { file: this.file, keptAs: aside, reason },
      'registry file is unreadable: kept it aside and rebuilding the registry from the last copy the service wrote and the model folders',
    );
    const { data, known, unknown } = rebuildFromLastGood(await this.lastGood.read(), await this.scanFolders());
    const counts = Object.fromEntries(Object.values(KIND_DIRS).map((s) => [s, Object.keys(data[s]).length]));
    this.options.logger.warn(
      { counts, known, unknown },
      'registry rebuilt: known models as the service last wrote them, unknown files to be hashed',
    );
    return data;
  }

  /**
   * Registry entries for the model files found in the three folders. Nothing is hashed here,
   * so the lease is held only for a folder listing: entries start with an empty `hash` and
   * `hash_pending: true`, and fillPendingHashes() hashes them afterwards, outside the lease.
   */
  async scanFolders(): Promise<RegistryData> {
    const data = emptyRegistry();
    for (const kind of MODEL_KINDS) {
      const dir = kindDir(this.options.modelsDir, kind);
      let names: string[];
      try {
        names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
      } catch {
        continue;
      }
      for (const fileName of names) {
        const ext = path.extname(fileName).toLowerCase();
        const name = fileStem(fileName);
        if (!(MODEL_EXTENSIONS as readonly string[]).includes(ext) || nameProblem(name)) continue;
        const filePath = path.join(dir, fileName);
        const st = await stat(filePath);
        data[sectionOf(kind)][name] = {
          url: '',
          path: filePath,
          hash: '',
          downloaded_at: st.mtimeMs / 1000,
          last_used: st.mtimeMs / 1000,
          usage_count: 0,
          file_size: st.size,
          rebuilt: true,
          hash_pending: true,
        };
      }
    }
    return data;
  }

  /**
   * Hashes one entry whose hash is pending (after a rebuild) and records it. The file is read
   * outside the lease; the hash is written only if the entry still describes the same file.
   * Returns the recorded hash, or null when there was nothing to do.
   */
  async fillHash(kind: ModelKind, name: string): Promise<string | null> {
    const entry = await this.get(kind, name);
    const filePath = entry && this.localPath(kind, entry);
    if (entry?.hash_pending !== true || !filePath) return null;
    let hash: string;
    try {
      hash = await (this.options.hashFile ?? hashFile)(filePath);
    } catch {
      return null; // gone meanwhile: the next check treats it as missing
    }
    return this.update(
      (data) => {
        const current = data[sectionOf(kind)][name];
        if (!isUsableEntry(current) || current.hash_pending !== true || current.file_size !== entry.file_size)
          return null;
        current.hash = hash;
        delete current.hash_pending;
        return hash;
      },
      { write: (written) => written !== null },
    );
  }

  /** Hashes every entry left pending by a rebuild, one file at a time (one run at a time). */
  fillPendingHashes(): Promise<number> {
    this.filling ??= this.hashPendingEntries().finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }

  private async hashPendingEntries(): Promise<number> {
    let filled = 0;
    try {
      const data = await this.read();
      for (const kind of MODEL_KINDS) {
        for (const [name, entry] of Object.entries(data[sectionOf(kind)])) {
          if (this.closed) return filled;
          if (isUsableEntry(entry) && entry.hash_pending === true && (await this.fillHash(kind, name))) filled += 1;
        }
      }
      if (filled > 0) this.options.logger.info({ filled }, 'hashed the model files found by the registry rebuild');
      return filled;
    } catch (err) {
      this.options.logger.warn(
        { err },
        'could not hash the rebuilt registry entries; will try again at the next start',
      );
      return filled;
    }
  }

  /**
   * Pins or unpins a model: `pinned` is an extra field of its entry (the old module ignores and
   * keeps it). Returns the model, or undefined when the registry has no such model.
   */
  async setPinned(kind: ModelKind, name: string, pinned: boolean): Promise<Model | undefined> {
    return this.update(
      (data) => {
        const entry = data[sectionOf(kind)][name];
        const filePath = isUsableEntry(entry) ? this.localPath(kind, entry) : null;
        if (!isUsableEntry(entry) || !filePath) return undefined;
        if (pinned) entry.pinned = true;
        else delete entry.pinned;
        return toModel(kind, name, entry, filePath);
      },
      { write: (model) => model !== undefined },
    );
  }

  /**
   * Removes models, entry and file together, under the lease. `select` picks them from a fresh
   * read, so the choice and the removal see the same registry. With `dryRun` nothing is touched.
   *
   * Why it is safe against a fetch of the same model (on any host): a publish also runs under
   * this lease, so the two are ordered. Removal first: the fetch then publishes a new file and
   * entry. Publish first: `select` sees the new entry (and decides again). At commit the files are
   * moved aside only after the new registry is durable and `beforeRemove` (the last check, e.g.
   * leases) passed; they are deleted once the registry without them is in place, and moved back
   * if that fails, so no entry is left without its file nor a file without its entry (a crash in
   * between leaves an entry whose file is missing, which the next request re-fetches).
   */
  async removeWhere(
    select: (
      data: RegistryData,
    ) => ReadonlyArray<{ kind: ModelKind; name: string }> | Promise<ReadonlyArray<{ kind: ModelKind; name: string }>>,
    options: { dryRun?: boolean; beforeRemove?: (removed: RemovedModel[]) => Promise<void> } = {},
  ): Promise<RemovedModel[]> {
    let removed: RemovedModel[] = [];
    const files: string[] = [];
    const aside: Array<{ from: string; to: string }> = [];
    const putBack = async () => {
      for (const { from, to } of aside.splice(0)) await rename(to, from).catch(() => {});
    };
    try {
      await this.update(
        async (data) => {
          for (const { kind, name } of await select(data)) {
            const section = data[sectionOf(kind)];
            const entry = section[name];
            if (!entry) continue;
            const filePath = isUsableEntry(entry) ? this.localPath(kind, entry) : null;
            const model = isUsableEntry(entry) && filePath ? toModel(kind, name, entry, filePath) : null;
            removed.push({ kind, name, fileSize: model?.fileSize ?? 0, model });
            if (options.dryRun) continue;
            delete section[name];
            if (filePath) files.push(filePath);
          }
        },
        {
          write: () => !options.dryRun && removed.length > 0,
          beforeCommit: async (held) => {
            await options.beforeRemove?.(removed);
            await held.assertHeld();
            // Never delete through a kind folder that a planted symlink points elsewhere.
            for (const dir of new Set(files.map((f) => path.dirname(f))))
              await assertInsideVolume(this.options.modelsDir, dir);
            try {
              for (const from of files) {
                const to = path.join(
                  this.options.modelsDir,
                  STAGING_DIR,
                  `.removing-${randomBytes(6).toString('hex')}-${path.basename(from)}`,
                );
                try {
                  await rename(from, to);
                  aside.push({ from, to });
                } catch (err) {
                  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
                }
              }
            } catch (err) {
              await putBack();
              throw err;
            }
          },
        },
      );
    } catch (err) {
      await putBack();
      removed = [];
      throw err;
    }
    for (const { to } of aside) await rm(to, { force: true });
    return removed;
  }
}

export interface RemovedModel {
  kind: ModelKind;
  name: string;
  fileSize: number;
  /** The model as it was (null for an entry the registry could not use). */
  model: Model | null;
}
