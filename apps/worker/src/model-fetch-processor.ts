import { randomBytes } from 'node:crypto';
import { copyFile, link, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Dispatcher } from 'undici';
import {
  ModelFetchError,
  QUEUE_NAME,
  STAGING_DIR,
  fetchModelJobSchema,
  modelFilePath,
  nowSeconds,
  PICKLE_EXTENSIONS,
  kindDir,
  pickExtension,
  recordDownload,
  redactUrl,
  urlTokenKey,
  volumeKeyBase,
  withUrlToken,
  type Config,
  type FetchModelJobData,
  type Logger,
  type Model,
  type RedisClient,
} from '@model-manager/core';
import { Registry, VolumeCleanup, assertInsideVolume, sectionOf, syncDir, toModel, volumeId, type RegistryEntry } from '@model-manager/registry';
import { authorizationFor, type AuthRules } from './download/auth.js';
import { checkSafetensors } from './download/content-checks.js';
import { ContentClaim } from './download/content-claim.js';
import { DiskSpace } from './download/disk-space.js';
import { fileError } from './download/download-errors.js';
import { downloadToFile } from './download/download-to-file.js';
import { StagingFile, escapePart } from './download/staging/staging-file.js';
import { StagingLease } from './download/staging/staging-lease.js';
import { writeStagingMeta } from './download/staging/staging-meta.js';
import { formatBytes, jobLog } from './job-log.js';

export interface ProcessorDeps {
  config: Config;
  registry: Registry;
  /** Quota eviction, run to make room for a download that would not fit. */
  cleanup: VolumeCleanup;
  redis: RedisClient;
  dispatcher: Dispatcher;
  logger: Logger;
  /** Aborted when the worker's shutdown grace time runs out. */
  shutdownSignal: AbortSignal;
}

/** Error thrown to BullMQ for a retryable failure; the backoff strategy reads retryAfterMs. */
export class RetryableJobError extends Error {
  override readonly name = 'RetryableJobError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Redis keys scoped to the volume (shared by every deployment that mounts it). */
export function volumeKeys(volume: string, cluster = false) {
  const base = volumeKeyBase(volume, cluster);
  return {
    reservations: `${base}:reservations`,
    stagingLease: (key: string) => `${base}:staging-lease:${key}`,
    contentClaim: (sha256: string) => `${base}:content:${sha256.toLowerCase()}`,
  };
}

/** How long a job whose content another job is downloading waits before it looks again. */
const CONTENT_WAIT_MS = 1000;

/** The BullMQ processor for `fetch-model` jobs: download (resuming), verify, publish, register. */
export function createModelFetchProcessor(deps: ProcessorDeps) {
  const { config, registry, redis, logger: rootLogger } = deps;
  const incoming = path.join(config.modelsDir, STAGING_DIR);
  const auth: AuthRules = { hfToken: config.HF_TOKEN, civitaiToken: config.CIVITAI_TOKEN, hostHeaders: config.AUTH_HEADERS };
  const volume = volumeId(config.modelsDir);
  const jobLockKey = (jobId: string) => `${config.QUEUE_PREFIX}:${QUEUE_NAME}:${jobId}:lock`;
  // SEGMENTS is this worker's budget of connections: downloads running together share it.
  let downloading = 0;
  // Jobs this worker has delayed because another job was downloading their bytes (see ContentClaim).
  const waitingForContent = new Set<string>();

  /**
   * Publishes a verified file and its registry entry together, under the registry lease: the new
   * registry is made durable first, then the file is moved into place, then the registry file is
   * replaced. A failure before the last step leaves neither; after it, both.
   */
  async function publish(
    ref: FetchModelJobData,
    source: string,
    finalPath: string,
    entry: RegistryEntry,
    place: () => Promise<void>,
    unplace: () => Promise<void>,
  ) {
    let placed = false;
    let replaced: string | null = null;
    try {
      await registry.update(
        (data) => {
          const section = data[sectionOf(ref.kind)];
          const previous = section[ref.name];
          if (previous && typeof previous.path === 'string') {
            const old = registry.localPath(ref.kind, previous as RegistryEntry);
            if (old && old !== finalPath) replaced = old;
            entry.usage_count = typeof previous.usage_count === 'number' ? previous.usage_count : 0;
          }
          entry.url = source;
          section[ref.name] = entry;
        },
        {
          beforeCommit: async (held) => {
            await held.assertHeld();
            await place();
            placed = true;
            await syncDir(path.dirname(finalPath));
          },
        },
      );
    } catch (err) {
      if (placed) await unplace().catch(() => {});
      throw err;
    }
    // The same model under another extension: its old file is no longer listed anywhere.
    if (replaced) await rm(replaced, { force: true });
    return toModel(ref.kind, ref.name, entry, finalPath);
  }

  function newEntry(finalPath: string, hash: string, size: number): RegistryEntry {
    const now = nowSeconds();
    return { url: '', path: finalPath, hash, downloaded_at: now, last_used: now, usage_count: 0, file_size: size };
  }

  /** The same bytes are on the volume under another name: link them (copy where links are impossible). */
  async function fromTwin(ref: FetchModelJobData, log: Logger, note: (line: string) => void): Promise<Model | null> {
    if (!ref.sha256) return null;
    const twin = await registry.findByHash(ref.sha256);
    if (!twin) return null;
    const ext = path.extname(twin.path).toLowerCase();
    const finalPath = modelFilePath(config.modelsDir, ref.kind, ref.name, ext);
    if (finalPath === twin.path) return null;
    const tmp = path.join(incoming, `${escapePart(config.QUEUE_PREFIX)}.tmp-link-${randomBytes(6).toString('hex')}`);
    let how = 'hard link';
    try {
      await link(twin.path, tmp);
    } catch {
      how = 'copy';
      await copyFile(twin.path, tmp);
    }
    const model = await publish(
      ref,
      ref.url,
      finalPath,
      newEntry(finalPath, ref.sha256, twin.size),
      () => rename(tmp, finalPath),
      () => rm(finalPath, { force: true }),
    ).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
    log.info({ from: `${twin.kind}/${twin.name}`, how }, 'same content already on the volume: no download');
    note(`same content as ${twin.kind}/${twin.name} (sha256 ${ref.sha256}): ${how} of ${twin.path}; nothing downloaded`);
    note(`published: ${finalPath}`);
    await recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'linked' });
    return model;
  }

  return async function processFetchModel(job: Job, token?: string, jobSignal?: AbortSignal): Promise<Model> {
    const parsed = fetchModelJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`INVALID_JOB: job data does not match the fetch-model schema: ${parsed.error.message}`);
    }
    const ref = parsed.data;
    const log = rootLogger.child({ jobId: job.id, model: `${ref.kind}/${ref.name}` });
    const note = jobLog(job);

    // Finished by an earlier job (or present already): a hit, no download and no re-hash.
    let cached = await registry.check(ref.kind, ref.name, ref.sha256);
    if (!cached.hit && cached.reason === 'hash-pending') {
      // Found by a registry rebuild and not hashed yet: hashing the local copy beats downloading it.
      await registry.fillHash(ref.kind, ref.name);
      cached = await registry.check(ref.kind, ref.name, ref.sha256);
    }
    if (cached.hit) {
      waitingForContent.delete(job.id!);
      log.info('already on the volume; nothing to download');
      note(`cache hit: already on the volume at ${cached.model.path}; nothing downloaded`);
      return cached.model;
    }
    let twin: Model | null;
    try {
      twin = await fromTwin(ref, log, note);
    } catch (err) {
      const failure = asModelFetchError(err);
      log.warn({ code: failure.code }, `linking the same content failed: ${failure.message}`);
      throw jobError(failure, failure.retryable);
    }
    if (twin) {
      waitingForContent.delete(job.id!);
      return twin;
    }

    const sources = [ref.url, ...(ref.mirrors ?? [])];
    // The folders written to must still be inside the volume (a symlink planted since start-up).
    try {
      await Promise.all([assertInsideVolume(config.modelsDir, incoming), assertInsideVolume(config.modelsDir, kindDir(config.modelsDir, ref.kind))]);
    } catch (err) {
      throw jobError(new ModelFetchError('WRITE_ERROR', (err as Error).message, { retryable: false }), false);
    }
    const staging = new StagingFile(incoming, StagingFile.keyFor(config.QUEUE_PREFIX, job.id!));
    const meta = await staging.readMeta();
    const sourceIndex = Math.min(meta?.sourceIndex ?? 0, sources.length - 1);
    const source = sources[sourceIndex]!;
    const vkeys = volumeKeys(await volume, redis.isCluster);
    const disk = new DiskSpace(redis, vkeys.reservations, config.modelsDir, config.MIN_FREE_BYTES);
    const cancel = new AbortController();
    // BullMQ aborts jobSignal when this worker could not renew the job's lock (see worker.ts).
    const lockLost = new AbortController();
    jobSignal?.addEventListener(
      'abort',
      () => lockLost.abort(new ModelFetchError('LOCK_LOST', 'the job lock was lost; another worker may be running the job', { retryable: true })),
      { once: true },
    );
    const signal = AbortSignal.any([cancel.signal, deps.shutdownSignal, lockLost.signal]);
    // Shorter than the job lock, so a dead holder's lease is gone before its job is handed over.
    const leaseTtl = (config.JOB_LOCK_SECONDS * 1000) / 2;
    const lease = token ? new StagingLease(redis, vkeys.stagingLease(staging.key), jobLockKey(job.id!), token, leaseTtl) : undefined;
    const sizeBefore = await staging.size();
    const started = Date.now();
    let lastReservation = 0;
    let leaseHeld = false;
    let completePath: string | undefined;
    // Whether the size was known before writing (so room was made for it then).
    let roomMade = false;
    // The same bytes under another name, downloading right now: wait for them and link them then
    // (the twin check above) rather than fetch them twice. Not an attempt: the job is only delayed.
    const claim = ref.sha256 && token ? new ContentClaim(redis, vkeys.contentClaim(ref.sha256), `${config.QUEUE_PREFIX}:${job.id}`, config.JOB_LOCK_SECONDS * 1000) : undefined;
    const holder = await claim?.take();
    if (holder && token) {
      // Said once per job and worker, not at every look (one a second for as long as the other runs).
      if (!waitingForContent.has(job.id!)) {
        waitingForContent.add(job.id!);
        log.info({ holder }, 'the same content is being downloaded by another job; waiting to link it');
        note(`the same content (sha256 ${ref.sha256}) is being downloaded by ${holder}; waiting for it, to link it`);
      }
      await job.moveToDelayed(Date.now() + CONTENT_WAIT_MS, token);
      throw new DelayedError();
    }
    waitingForContent.delete(job.id!);
    log.info({ url: source, attempt: job.attemptsMade + 1, sourceIndex, staged: sizeBefore }, 'download started');
    note(
      `attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}: source ${redactUrl(source)}` +
        (sources.length > 1 ? ` (${sourceIndex === 0 ? 'url' : `mirror ${sourceIndex}`}; ${sources.length} sources)` : '') +
        (sizeBefore > 0 ? `; ${formatBytes(sizeBefore)} kept from an earlier attempt` : ''),
    );
    downloading += 1;
    try {
      await lease?.acquire(signal);
      leaseHeld = true;
      const url = withUrlToken(source, await redis.get(urlTokenKey(config.QUEUE_PREFIX, source)));
      const result = await downloadToFile({
        url,
        sourceIndex,
        staging,
        segments: Math.max(1, Math.floor(config.SEGMENTS / downloading)),
        segmentMinBytes: config.SEGMENT_MIN_BYTES,
        networkPolicy: config.networkPolicy,
        expectedSha256: ref.sha256,
        dispatcher: deps.dispatcher,
        signal,
        logger: log,
        authorization: (hop, startedAt) => authorizationFor(hop, auth, startedAt),
        maxBytes: config.MAX_MODEL_BYTES,
        checkResponse: ({ finalUrl, contentDisposition, totalBytes }) => {
          if (totalBytes !== null && totalBytes > config.MAX_MODEL_BYTES) {
            throw new ModelFetchError('TOO_LARGE', `the file is ${totalBytes} bytes, more than MAX_MODEL_BYTES (${config.MAX_MODEL_BYTES})`, { retryable: false });
          }
          const ext = pickExtension([finalUrl, source], contentDisposition);
          if (config.REQUIRE_SAFETENSORS && PICKLE_EXTENSIONS.includes(ext)) {
            throw new ModelFetchError('UNSAFE_FORMAT', `the file is a ${ext} (pickle: loading it runs code) and REQUIRE_SAFETENSORS is on`, { retryable: false });
          }
        },
        beforeWrite: async (remaining) => {
          if (remaining === null) return;
          await makeRoom(deps.cleanup, disk, staging.key, remaining, log);
          roomMade = true;
        },
        assertMayWrite: () => lease?.assertValid(),
        onProgress: (p) => {
          void job.updateProgress({ bytes: p.bytes, totalBytes: p.totalBytes, bytesPerSec: p.bytesPerSec }).catch(() => {});
          const now = Date.now();
          if (p.totalBytes !== null && now - lastReservation > 2000) {
            lastReservation = now;
            void disk.update(staging.key, p.totalBytes - p.bytes).catch(() => {});
          }
        },
      });
      const seconds = (Date.now() - started) / 1000;
      note(
        `downloaded ${formatBytes(result.bytes)} in ${seconds.toFixed(1)} s` +
          (result.resumedFrom > 0 ? `, resumed from byte ${result.resumedFrom}` : '') +
          (result.segments ? `, segmented over up to ${result.segments} connections` : ', one connection') +
          (redactUrl(result.finalUrl) !== redactUrl(source) ? `, via ${redactUrl(result.finalUrl)}` : ''),
      );
      note(ref.sha256 ? `sha256 verified: ${result.sha256}` : `sha256 ${result.sha256} (no expected hash given)`);
      const ext = pickExtension([result.finalUrl, source], result.contentDisposition);
      if (ext === '.safetensors') await checkSafetensors(staging.partPath);
      const finalPath = modelFilePath(config.modelsDir, ref.kind, ref.name, ext);
      // Out of the staging name first, while the lease is ours: a worker that takes the job over
      // while this one waits for the registry can never rewrite the file about to be published.
      lease?.assertValid();
      completePath = `${staging.partPath}.${randomBytes(4).toString('hex')}.done`;
      await rename(staging.partPath, completePath);
      const complete = completePath;
      const model = await publish(
        ref,
        source,
        finalPath,
        newEntry(finalPath, result.sha256, result.bytes),
        async () => {
          await lease?.confirm(); // asked of Redis, right before the file appears
          await rename(complete, finalPath);
        },
        () => rename(finalPath, complete),
      );
      completePath = undefined;
      await staging.remove();
      note(`published: ${finalPath}`);
      await recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'completed', bytes: result.bytes - result.resumedFrom, seconds });
      if (!roomMade) await evictAfterUnknownSize(deps.cleanup, log);
      log.info(
        { bytes: result.bytes, resumedFrom: result.resumedFrom, seconds, path: finalPath, url: result.finalUrl },
        'download completed',
      );
      return model;
    } catch (err) {
      cancel.abort();
      if (completePath) {
        // Downloaded and verified but not published: back to the staging name for the next
        // attempt (which verifies it without downloading), unless the job is someone else's now.
        const stillOurs = await lease?.confirm().then(() => true, () => false);
        if (stillOurs ?? true) await rename(completePath, staging.partPath).catch(() => {});
        else await rm(completePath, { force: true });
      }
      const failure = asModelFetchError(err);
      if (failure.code === 'LOCK_LOST') {
        // Another worker owns the job (and its staging file) now: touch nothing.
        log.warn({ code: failure.code }, failure.message);
        note(`stopped: ${failure.toReason()}`);
        throw new RetryableJobError(failure.toReason());
      }
      if (failure.code === 'SHUTDOWN' && token) {
        // Cut off by shutdown: back to the queue without spending an attempt; the staging file stays for resume.
        const staged = await staging.size();
        log.warn({ staged }, 'download cut off by shutdown; job returned to the queue');
        note(`cut off by shutdown with ${formatBytes(staged)} staged; back to the queue, to be resumed`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const attempts = job.opts.attempts ?? 1;
      const attemptsLeft = job.attemptsMade + 1 < attempts;
      // Which source the next attempt uses. A source that failed in a way retrying cannot fix is
      // dead; one that failed retryably is left for the next live source (wrapping around), unless
      // it made progress (resume it) or its redirect target expired (resolve it again).
      const dead = new Set(meta?.deadSources ?? []);
      const sourceFault = failure.httpKind === 'NOT_FOUND' || SOURCE_FAULTS.has(failure.code) || (failure.code === 'HASH_MISMATCH' && !failure.retryable);
      if (sourceFault) dead.add(sourceIndex);
      const progressed = (await staging.size()) > sizeBefore;
      const stay = failure.retryable && (progressed || failure.httpKind === 'EXPIRED_REDIRECT' || failure.code === 'HASH_MISMATCH');
      const next = stay ? sourceIndex : nextLiveSource(sources.length, sourceIndex, dead, failure.retryable);
      const retryable = next !== null && (failure.retryable || sourceFault);
      const final = !retryable || !attemptsLeft;
      if (final) await staging.remove();
      else if (next !== sourceIndex || failure.code === 'HASH_MISMATCH') {
        // Another source, or a fresh start after a hash mismatch on resumed bytes: from byte 0.
        await staging.remove();
        await writeStagingMeta(staging, { url: sources[next!]!, sourceIndex: next!, deadSources: [...dead] });
      }
      log[final ? 'error' : 'warn'](
        {
          code: failure.code,
          status: failure.status,
          attempt: job.attemptsMade + 1,
          of: attempts,
          url: source,
          staged: final ? 0 : await staging.size(),
        },
        `download failed: ${failure.message}`,
      );
      note(`attempt ${job.attemptsMade + 1} failed: ${failure.toReason()}${final ? '' : '; will retry'}`);
      if (final) await recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'failed' });
      throw jobError(failure, retryable);
    } finally {
      downloading -= 1;
      if (leaseHeld) await lease?.release();
      await claim?.release();
      await disk.release(staging.key);
    }
  };
}

/**
 * Evicts what quota eviction may (never pinned, leased, young or in-flight models) until the
 * download fits under CACHE_MAX_BYTES and above MIN_FREE_BYTES, then reserves its space. Fails
 * with DISK_FULL only when no eviction can make the room. Twice, since another download may take
 * the space freed for this one before the reservation.
 */
async function makeRoom(cleanup: VolumeCleanup, disk: DiskSpace, stagingKey: string, remaining: number, log: Logger) {
  for (let round = 1; ; round++) {
    const room = await cleanup.makeRoom(remaining, await disk.reservedByOthers(stagingKey));
    if (room.removed.length > 0) {
      log.info({ removed: room.removed.map((m) => `${m.kind}/${m.name} (${m.reason})`), freedBytes: room.freedBytes }, 'evicted models to make room');
    }
    if (!room.fits) {
      const kept = room.skipped.map((m) => `${m.kind}/${m.name} (${m.reason})`).join(', ') || 'none';
      throw new ModelFetchError(
        'DISK_FULL',
        `not enough space for ${remaining} bytes within CACHE_MAX_BYTES and MIN_FREE_BYTES, even after evicting every model that may go; kept: ${kept}`,
        { retryable: false },
      );
    }
    try {
      await disk.reserve(stagingKey, remaining);
      return;
    } catch (err) {
      if (round >= 2 || !(err instanceof ModelFetchError) || err.code !== 'DISK_FULL') throw err;
    }
  }
}

/**
 * A download without a Content-Length could not make room before writing: once it is published,
 * quota eviction brings the volume back under the limits (sparing this model, which is in flight
 * and young). Never fails the download: the schedule tries again.
 */
async function evictAfterUnknownSize(cleanup: VolumeCleanup, log: Logger) {
  try {
    const report = await cleanup.enforce('download');
    if (report && report.removed.length > 0) {
      log.info({ removed: report.removed.map((m) => `${m.kind}/${m.name} (${m.reason})`), freedBytes: report.freedBytes }, 'evicted models to get back under the limits');
    }
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not evict after a download of unknown size; the scheduled cleanup will');
  }
}

/** Failures that say this source will not serve the model; another mirror may. */
const SOURCE_FAULTS = new Set(['AUTH_REQUIRED', 'FORBIDDEN', 'NOT_A_MODEL']);

/** The next source not known to be dead, after `current` and wrapping around; `current` itself only if retryable. */
function nextLiveSource(count: number, current: number, dead: Set<number>, currentRetryable: boolean): number | null {
  for (let step = 1; step <= count; step++) {
    const candidate = (current + step) % count;
    if (candidate === current) return currentRetryable && !dead.has(current) ? current : null;
    if (!dead.has(candidate)) return candidate;
  }
  return null;
}

/** Exponential backoff with jitter (0.5x-1.5x), never shorter than the origin's Retry-After. */
export function backoffDelay(baseMs: number, attemptsMade: number, err?: Error): number {
  const exponential = baseMs * 2 ** Math.max(0, attemptsMade - 1);
  const jittered = Math.round(exponential * (0.5 + Math.random()));
  const retryAfter = (err as RetryableJobError | undefined)?.retryAfterMs ?? 0;
  return Math.max(jittered, retryAfter);
}

/**
 * The error BullMQ gets: retried (with the origin's Retry-After) or failed at once. Its stack is
 * the reason alone, since the dashboard shows the stack and a worker's call stack tells an
 * operator nothing.
 */
function jobError(failure: ModelFetchError, retryable: boolean): Error {
  const thrown = retryable ? new RetryableJobError(failure.toReason(), failure.retryAfterMs) : new UnrecoverableError(failure.toReason());
  thrown.stack = failure.toReason();
  return thrown;
}

/** Any error as a ModelFetchError: file-system errors (a registry write, a rename) get their own codes. */
function asModelFetchError(err: unknown): ModelFetchError {
  if (err instanceof ModelFetchError) return err;
  const e = err as NodeJS.ErrnoException;
  // A file-system error: the same DISK_FULL / WRITE_ERROR the download itself reports.
  if (e?.code && /^E[A-Z]+$/.test(e.code)) return fileError(err, e.path ?? 'the volume');
  return new ModelFetchError('INTERNAL', e?.message ?? String(err), { retryable: true });
}
