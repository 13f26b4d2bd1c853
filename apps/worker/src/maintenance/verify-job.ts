import { Queue, type Job } from 'bullmq';
import {
  FETCH_MODEL_JOB,
  MODEL_KINDS,
  PRIORITY,
  QUEUE_NAME,
  fetchJobData,
  fetchJobOptions,
  modelRefSchema,
  redactUrl,
  type KnownBeforehand,
  type MaintenanceJobData,
  type ModelKind,
  type VerifyResult,
} from '@model-manager/core';
import {
  isUsableEntry,
  sameHash,
  sectionOf,
  sourceOfEntry,
  type Registry,
  type RegistryEntry,
} from '@model-manager/registry';
import { currentIdentity, hashAsItIs, sameEntry, sameIdentity, type FileIdentity } from './file-check.js';
import type { MaintenanceDeps } from './maintenance-deps.js';
import { moveToQuarantine } from './quarantine.js';

type VerifyJobData = MaintenanceJobData<'verify'>;

export interface Target {
  kind: ModelKind;
  name: string;
  entry: RegistryEntry;
}

/**
 * The `verify` job: re-hashes the registered files (all, one kind, or one model) and compares
 * them with the registry. A missing file is reported; a file whose hash differs is moved to
 * the quarantine folder and its entry dropped, and with `refetch` downloaded again from its URL.
 * Entries without a hash (adopted by a rebuild) get theirs recorded instead.
 */
export async function processVerifyJob(job: Job<VerifyJobData>, deps: MaintenanceDeps): Promise<VerifyResult> {
  const { kind, name, refetch } = job.data;
  const { registry, config } = deps;
  const data = await registry.read();
  const targets: Target[] = [];
  for (const k of kind ? [kind] : MODEL_KINDS) {
    for (const [n, entry] of Object.entries(data[sectionOf(k)])) {
      if ((name === undefined || n === name) && isUsableEntry(entry)) targets.push({ kind: k, name: n, entry });
    }
  }
  const result: VerifyResult = { checked: 0, ok: 0, mismatched: [], missing: [], quarantined: [], refetchJobs: [] };
  const refetchable: Target[] = [];
  await job.log(
    `verifying ${targets.length} model(s)${kind ? ` of kind ${kind}` : ''}${name ? ` named "${name}"` : ''}`,
  );
  await job.updateProgress({ checked: 0, total: targets.length });

  for (const target of targets) {
    const label = `${target.kind}/${target.name}`;
    const filePath = registry.localPath(target.kind, target.entry);
    const outcome = filePath ? await hashAsItIs(filePath) : ({ status: 'missing' } as const);
    result.checked += 1;
    if (outcome.status === 'missing') {
      result.missing.push({ kind: target.kind, name: target.name });
      refetchable.push(target);
      await job.log(`${label}: file missing (${filePath ?? target.entry.path})`);
    } else if (outcome.status === 'changed') {
      // Replaced (a new download) or written while read: not the bytes the entry describes.
      await job.log(`${label}: the file changed while it was read; left alone`);
    } else if (target.entry.hash_pending === true || !target.entry.hash) {
      const recorded = await recordHash(registry, target, outcome.file, outcome.hash);
      if (recorded) result.ok += 1;
      await job.log(
        `${label}: had no hash; ${recorded ? `recorded ${outcome.hash}` : "not recorded: the entry changed meanwhile or its size is not the file's"}`,
      );
    } else if (sameHash(outcome.hash, target.entry.hash)) {
      result.ok += 1;
    } else {
      const expected = target.entry.hash.toLowerCase();
      result.mismatched.push({ kind: target.kind, name: target.name, expected, actual: outcome.hash });
      const moved = await quarantine(registry, config.modelsDir, target, outcome.file);
      if (moved) {
        result.quarantined.push({ kind: target.kind, name: target.name, path: moved });
        refetchable.push(target);
        deps.logger.warn(
          { model: label, expected, actual: outcome.hash, quarantinedAs: moved },
          'corrupt model file quarantined',
        );
        await job.log(`${label}: sha256 is ${outcome.hash}, expected ${expected}; moved to ${moved}, entry dropped`);
      } else {
        await job.log(`${label}: sha256 is ${outcome.hash}, expected ${expected}; replaced meanwhile, left alone`);
      }
    }
    await job.updateProgress({ checked: result.checked, total: targets.length });
  }

  if (refetch && refetchable.length > 0) result.refetchJobs = await addRefetchJobs(job, deps, refetchable);
  await job.log(
    `checked ${result.checked}: ${result.ok} ok, ${result.mismatched.length} mismatched, ${result.missing.length} missing, ` +
      `${result.quarantined.length} quarantined, ${result.refetchJobs.length} re-fetch job(s)`,
  );
  deps.logger.info({ jobId: job.id, ...result }, 'verify finished');
  return result;
}

/**
 * Under the registry lease: moves the file aside and drops its entry, but only when both are
 * still what was hashed. A download that replaced either meanwhile is a good file, never quarantined.
 */
export async function quarantine(
  registry: Registry,
  modelsDir: string,
  target: Target,
  hashed: FileIdentity,
): Promise<string | null> {
  return registry.update(
    async (data, held) => {
      const section = data[sectionOf(target.kind)];
      const current = section[target.name];
      if (!isUsableEntry(current) || !sameEntry(current, target.entry)) return null;
      const filePath = registry.localPath(target.kind, current);
      const now = filePath && (await currentIdentity(filePath));
      if (!filePath || !now || !sameIdentity(now, hashed)) return null;
      await held.assertHeld();
      const moved = await moveToQuarantine(modelsDir, target.kind, filePath);
      delete section[target.name];
      return moved;
    },
    { write: (moved) => moved !== null },
  );
}

/** Records a hash computed outside the lease, if the entry and its file are unchanged. */
async function recordHash(registry: Registry, target: Target, hashed: FileIdentity, hash: string): Promise<boolean> {
  return registry.update(
    async (data) => {
      const current = data[sectionOf(target.kind)][target.name];
      if (!isUsableEntry(current) || !sameEntry(current, target.entry) || current.file_size !== hashed.size)
        return false;
      const filePath = registry.localPath(target.kind, current);
      const now = filePath && (await currentIdentity(filePath));
      if (!now || !sameIdentity(now, hashed)) return false;
      current.hash = hash;
      delete current.hash_pending;
      return true;
    },
    { write: (recorded) => recorded },
  );
}

function knownOfEntry(entry: RegistryEntry): KnownBeforehand {
  const source = sourceOfEntry(entry);
  const size = typeof entry.file_size === 'number' && entry.hash ? entry.file_size : undefined;
  return { ...(source ? { source } : {}), ...(size !== undefined ? { expectedSize: size } : {}) };
}

/** One fetch-model job per model with a usable URL, made as the API makes them (the known hash is required). */
async function addRefetchJobs(job: Job, deps: MaintenanceDeps, targets: readonly Target[]): Promise<string[]> {
  const queue = new Queue(QUEUE_NAME, { connection: deps.redis, prefix: deps.config.QUEUE_PREFIX });
  const ids: string[] = [];
  try {
    for (const { kind, name, entry } of targets) {
      const sha256 = typeof entry.hash === 'string' && /^[0-9a-fA-F]{64}$/.test(entry.hash) ? entry.hash : undefined;
      const parsed = modelRefSchema.safeParse({ kind, name, url: entry.url, ...(sha256 ? { sha256 } : {}) });
      if (!parsed.success) {
        await job.log(`${kind}/${name}: no http(s) URL recorded; not re-fetched`);
        continue;
      }
      const added = await queue.add(
        FETCH_MODEL_JOB,
        // The entry's origin and size come along: the refetch is then checked like the first download.
        fetchJobData(parsed.data, knownOfEntry(entry)),
        fetchJobOptions(deps.config, parsed.data, PRIORITY.single),
      );
      ids.push(added.id!);
      await job.log(`${kind}/${name}: re-fetch job ${added.id} from ${redactUrl(parsed.data.url)}`);
    }
  } finally {
    await queue.close(); // the shared connection stays open
  }
  return ids;
}
