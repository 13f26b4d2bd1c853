import { createHash } from 'node:crypto';
import { QueueKeys } from 'bullmq';
import type { ModelKind } from './volume-layout.js';

// Every Redis key name the service builds. Processes of different versions share one Redis, so a
// name here may only change together with a way for both versions to agree on it.

/** One job per model at a time: the deduplication id BullMQ keys in-flight jobs by, and a lease's member. */
export function modelKey(kind: ModelKind, name: string): string {
  return `${kind}/${name}`;
}

/** Start of our own keys under a queue prefix. */
function serviceKeyBase(prefix: string): string {
  return `${prefix}:model-manager`;
}

/** Redis keys of our own, under the same prefix as the queue so test runs and deployments never collide. */
export function serviceKeys(prefix: string) {
  const base = serviceKeyBase(prefix);
  return {
    stats: `${base}:stats`,
    batch: (id: string) => `${base}:batch:${id}`,
    /** Requests of one caller in one minute window (RATE_LIMIT_PER_MINUTE). */
    rate: (caller: string, window: number) => `${base}:rate:${caller}:${window}`,
  };
}

/** The Redis key where the API leaves a URL's token for the worker (never in the job's data). */
export function urlTokenKey(prefix: string, strippedUrl: string): string {
  return `${serviceKeyBase(prefix)}:url-token:${createHash('sha256').update(strippedUrl).digest('hex')}`;
}

/**
 * A host's answer about one file (SHA-256, size, name), cached by what identifies the file
 * (`hf:repo/path@revision`, `civitai:version?file-params`); hashed so any reference fits.
 */
export function sourceMetadataKey(prefix: string, reference: string): string {
  return `${serviceKeyBase(prefix)}:source-metadata:${createHash('sha256').update(reference).digest('hex')}`;
}

/**
 * Start of every Redis key scoped to a volume (registry lease, model leases, disk reservations,
 * staging leases, content claims): shared by every process that mounts the volume, whatever its
 * QUEUE_PREFIX. On a cluster the volume id is a hash tag, so a volume's keys share one slot and
 * the scripts that touch several of them (model leases) may run; on one server the names stay
 * untagged, so processes of an older version on the same volume still take the same leases.
 */
export function volumeKeyBase(volume: string, cluster: boolean): string {
  return `model-manager:volume:${cluster ? `{${volume}}` : volume}`;
}

/** Redis keys scoped to a volume (see volumeKeyBase). */
export function volumeKeys(volume: string, cluster: boolean) {
  const base = volumeKeyBase(volume, cluster);
  return {
    /** Matches every key of the volume (for SCAN/KEYS). */
    pattern: `${base}:*`,
    /** The lease that serialises registry writers across every process and host. */
    registryLock: `${base}:registry-lock`,
    /** One model lease (its value lists the leased models). */
    modelLease: (leaseId: string) => `${base}:lease:${leaseId}`,
    /** Leased models scored by expiry. */
    modelLeaseIndex: `${base}:leases`,
    /** Models an eviction is deleting right now. */
    evicting: `${base}:evicting`,
    /** Bytes the downloads in flight on the volume still need. */
    reservations: `${base}:reservations`,
    /** Which attempt owns a staging file (key: the staging file's name, see StagingFile.keyFor). */
    stagingLease: (stagingKey: string) => `${base}:staging-lease:${stagingKey}`,
    /** Which job is downloading a given SHA-256 onto the volume. */
    contentClaim: (sha256: string) => `${base}:content:${sha256.toLowerCase()}`,
  };
}

/**
 * BullMQ's own keys, where we read them directly: names from BullMQ's QueueKeys, and the lock a
 * worker holds on an active job (its job key plus `:lock`, as BullMQ's scripts write it).
 */
export function bullKeys(prefix: string, queue: string) {
  const keys = new QueueKeys(prefix);
  return {
    meta: keys.toKey(queue, 'meta'),
    job: (jobId: string) => keys.toKey(queue, jobId),
    jobLock: (jobId: string) => `${keys.toKey(queue, jobId)}:lock`,
  };
}
