import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import {
  ModelFetchError,
  QUEUE_NAME,
  STAGING_DIR,
  fetchModelJobSchema,
  PICKLE_EXTENSIONS,
  kindDir,
  pickExtension,
  recordDownload,
  redactUrl,
  bullKeys,
  urlTokenKey,
  volumeKeys,
  withUrlToken,
  type Logger,
  type Model,
} from '@model-manager/core';
import { assertInsideVolume, publishModel, volumeId } from '@model-manager/registry';
import { authRulesFromConfig, authorizationFor } from '@model-manager/sources';
import { checkSafetensors } from './download/content-checks.js';
import { ContentClaim } from './download/content-claim.js';
import { DiskSpace } from './download/disk-space.js';
import { downloadToFile } from './download/download-to-file.js';
import { StagingFile } from './download/staging/staging-file.js';
import { StagingLease } from './download/staging/staging-lease.js';
import { afterFailedAttempt } from './fetch-job/after-failure.js';
import { asModelFetchError, jobError } from './fetch-job/job-errors.js';
import { hashNote } from './fetch-job/hash-note.js';
import { linkSameContent } from './fetch-job/link-same-content.js';
import { evictAfterUnknownSize, makeRoom } from './fetch-job/make-room.js';
import type { ProcessorDeps } from './fetch-job/processor-deps.js';
import { unverifiedRefusal } from './fetch-job/require-verified.js';
import { formatBytes, jobLog } from './job-log.js';

/** How long a job whose content another job is downloading waits before it looks again. */
const CONTENT_WAIT_MS = 1000;

/** The BullMQ processor for `fetch-model` jobs: download (resuming), verify, publish, register. */
export function createModelFetchProcessor(deps: ProcessorDeps) {
  const { config, registry, redis, logger: rootLogger } = deps;
  const incoming = path.join(config.modelsDir, STAGING_DIR);
  const auth = authRulesFromConfig(config);
  const volume = volumeId(config.modelsDir);
  const queueKeys = bullKeys(config.QUEUE_PREFIX, QUEUE_NAME);
  // SEGMENTS is this worker's budget of connections: downloads running together share it.
  let downloading = 0;
  // Jobs this worker has delayed because another job was downloading their bytes (see ContentClaim).
  const waitingForContent = new Set<string>();

  /**
   * Removes what an earlier attempt of the job staged, once the model is there without a
   * download (a cache hit, the same bytes linked): otherwise it would hold disk until the
   * sweeper's grace ran out. Never fails the job.
   */
  async function dropStaged(jobId: string, log: Logger) {
    try {
      await assertInsideVolume(config.modelsDir, incoming);
      await new StagingFile(incoming, StagingFile.keyFor(config.QUEUE_PREFIX, jobId)).remove();
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        'could not remove the staging file of an earlier attempt; the sweeper will',
      );
    }
  }

  return async function processFetchModel(job: Job, token?: string, jobSignal?: AbortSignal): Promise<Model> {
    const parsed = fetchModelJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        `INVALID_JOB: job data does not match the fetch-model schema: ${parsed.error.message}`,
      );
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
      await dropStaged(job.id!, log);
      log.info('already on the volume; nothing to download');
      note(`cache hit: already on the volume at ${cached.model.path}; nothing downloaded`);
      return cached.model;
    }
    let twin: Model | null;
    try {
      twin = await linkSameContent(deps, ref, log, note);
    } catch (err) {
      const failure = asModelFetchError(err);
      log.warn({ code: failure.code }, `linking the same content failed: ${failure.message}`);
      throw jobError(failure, failure.retryable);
    }
    if (twin) {
      waitingForContent.delete(job.id!);
      await dropStaged(job.id!, log);
      return twin;
    }
    const unverified = unverifiedRefusal(ref, config.REQUIRE_VERIFIED);
    if (unverified) {
      log.warn({ code: unverified.code }, unverified.message);
      note(`refused: ${unverified.toReason()}`);
      await dropStaged(job.id!, log);
      await recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'failed' });
      throw jobError(unverified, false);
    }

    const sources = [ref.url, ...(ref.mirrors ?? [])];
    // The folders written to must still be inside the volume (a symlink planted since start-up).
    try {
      await Promise.all([
        assertInsideVolume(config.modelsDir, incoming),
        assertInsideVolume(config.modelsDir, kindDir(config.modelsDir, ref.kind)),
      ]);
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
      () =>
        lockLost.abort(
          new ModelFetchError('LOCK_LOST', 'the job lock was lost; another worker may be running the job', {
            retryable: true,
          }),
        ),
      { once: true },
    );
    const signal = AbortSignal.any([cancel.signal, deps.shutdownSignal, lockLost.signal]);
    // Shorter than the job lock, so a dead holder's lease is gone before its job is handed over.
    const leaseTtl = (config.JOB_LOCK_SECONDS * 1000) / 2;
    const lease = token
      ? new StagingLease(redis, vkeys.stagingLease(staging.key), queueKeys.jobLock(job.id!), token, leaseTtl)
      : undefined;
    const sizeBefore = await staging.size();
    const started = Date.now();
    let lastReservation = 0;
    let leaseHeld = false;
    let completePath: string | undefined;
    // Whether the size was known before writing (so room was made for it then).
    let roomMade = false;
    // The same bytes under another name, downloading right now: wait for them and link them then
    // (the twin check above) rather than fetch them twice. Not an attempt: the job is only delayed.
    const claim =
      ref.sha256 && token
        ? new ContentClaim(
            redis,
            vkeys.contentClaim(ref.sha256),
            `${config.QUEUE_PREFIX}:${job.id}`,
            config.JOB_LOCK_SECONDS * 1000,
          )
        : undefined;
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
        (sources.length > 1
          ? ` (${sourceIndex === 0 ? 'url' : `mirror ${sourceIndex}`}; ${sources.length} sources)`
          : '') +
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
        expectedSize: ref.expectedSize,
        dispatcher: deps.dispatcher,
        signal,
        logger: log,
        authorization: (hop, startedAt) => authorizationFor(hop, auth, startedAt),
        maxBytes: config.MAX_MODEL_BYTES,
        checkResponse: ({ finalUrl, contentDisposition, totalBytes }) => {
          if (totalBytes !== null && totalBytes > config.MAX_MODEL_BYTES) {
            throw new ModelFetchError(
              'TOO_LARGE',
              `the file is ${totalBytes} bytes, more than MAX_MODEL_BYTES (${config.MAX_MODEL_BYTES})`,
              { retryable: false },
            );
          }
          const ext = pickExtension([finalUrl, source], contentDisposition);
          if (config.REQUIRE_SAFETENSORS && PICKLE_EXTENSIONS.includes(ext)) {
            throw new ModelFetchError(
              'UNSAFE_FORMAT',
              `the file is a ${ext} (pickle: loading it runs code) and REQUIRE_SAFETENSORS is on`,
              { retryable: false },
            );
          }
        },
        beforeWrite: async (remaining) => {
          if (remaining === null) return;
          await makeRoom(deps.cleanup, disk, staging.key, remaining, log);
          roomMade = true;
        },
        assertMayWrite: () => lease?.assertValid(),
        onProgress: (p) => {
          void job
            .updateProgress({ bytes: p.bytes, totalBytes: p.totalBytes, bytesPerSec: p.bytesPerSec })
            .catch(() => {});
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
      note(hashNote(ref, result.sha256));
      const ext = pickExtension([result.finalUrl, source], result.contentDisposition);
      if (ext === '.safetensors') await checkSafetensors(staging.partPath);
      // Out of the staging name first, while the lease is ours: a worker that takes the job over
      // while this one waits for the registry can never rewrite the file about to be published.
      lease?.assertValid();
      completePath = `${staging.partPath}.${randomBytes(4).toString('hex')}.done`;
      await rename(staging.partPath, completePath);
      const complete = completePath;
      const model = await publishModel(registry, {
        kind: ref.kind,
        name: ref.name,
        url: source,
        source: ref.source,
        file: complete,
        ext,
        sha256: result.sha256,
        size: result.bytes,
        beforePlace: async () => {
          await lease?.confirm(); // asked of Redis, right before the file appears
        },
      });
      completePath = undefined;
      await staging.remove();
      note(`published: ${model.path}`);
      await recordDownload(redis, config.QUEUE_PREFIX, {
        kind: ref.kind,
        outcome: 'completed',
        bytes: result.bytes - result.resumedFrom,
        seconds,
      });
      if (!roomMade) await evictAfterUnknownSize(deps.cleanup, log);
      log.info(
        { bytes: result.bytes, resumedFrom: result.resumedFrom, seconds, path: model.path, url: result.finalUrl },
        'download completed',
      );
      return model;
    } catch (err) {
      cancel.abort();
      if (completePath) {
        // Downloaded and verified but not published: back to the staging name for the next
        // attempt (which verifies it without downloading), unless the job is someone else's now.
        const stillOurs = await lease?.confirm().then(
          () => true,
          () => false,
        );
        if (stillOurs ?? true) await rename(completePath, staging.partPath).catch(() => {});
        else await rm(completePath, { force: true });
      }
      // Awaited here, so the lease and the reservation are released after it (finally), not before.
      return await afterFailedAttempt({
        job,
        token,
        failure: asModelFetchError(err),
        staging,
        sources,
        sourceIndex,
        deadSources: meta?.deadSources ?? [],
        sizeBefore,
        log,
        note,
        countFailure: () => recordDownload(redis, config.QUEUE_PREFIX, { kind: ref.kind, outcome: 'failed' }),
      });
    } finally {
      downloading -= 1;
      if (leaseHeld) await lease?.release();
      await claim?.release();
      await disk.release(staging.key);
    }
  };
}
