import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import {
  MODEL_EXTENSIONS,
  MODEL_KINDS,
  fileStem,
  kindDir,
  nameProblem,
  nowSeconds,
  type MaintenanceJobData,
  type ModelKind,
  type ScanResult,
} from '@model-manager/core';
import {
  isUsableEntry,
  sectionOf,
  unreadableEntries,
  type Registry,
  type RegistryEntry,
} from '@model-manager/registry';
import { addOrigins, type Adoption } from './adopted-origins.js';
import { currentIdentity, hashAsItIs, sameEntry, sameIdentity, type FileIdentity } from './file-check.js';
import type { MaintenanceDeps } from './maintenance-deps.js';

/**
 * A file modified this recently may still be being copied in: it is left for the next scan
 * rather than adopted half-written.
 */
export const SCAN_SETTLE_MS = 5000;

/**
 * The `scan` job: reconciles the registry with the kind folders. Entries whose file is gone are
 * dropped; a size that differs from the registered one is reported, not fixed (a verify decides
 * whether the file is corrupt); model files nobody registered (copied in by hand) are hashed
 * and adopted with `url: ""` and `adopted: true`; those Civitai knows by their SHA-256 then get
 * its `source` and download `url`.
 */
export async function processScanJob(job: Job<MaintenanceJobData<'scan'>>, deps: MaintenanceDeps): Promise<ScanResult> {
  const { registry } = deps;
  const data = await registry.read();
  const unreadable = unreadableEntries(data);
  const result: ScanResult = { adopted: [], dropped: [], sizeDrift: [], skipped: [], unreadable };
  /** Leaves a file for a later scan, saying why in the job log and the result. */
  const skip = async (kind: ModelKind, file: string, reason: string) => {
    result.skipped.push({ kind, file, reason });
    await job.log(`${kind}/${file}: not adopted, ${reason}`);
  };
  for (const u of unreadable)
    await job.log(`${u.kind}/${u.name}: registry entry makes no sense (${u.reason}); treated as absent`);
  const gone: Array<{ kind: ModelKind; name: string; entry: RegistryEntry }> = [];
  const candidates: Array<{ kind: ModelKind; name: string; filePath: string }> = [];

  for (const kind of MODEL_KINDS) {
    const section = data[sectionOf(kind)];
    const registeredFiles = new Set<string>();
    for (const [name, entry] of Object.entries(section)) {
      if (!isUsableEntry(entry)) continue;
      const filePath = registry.localPath(kind, entry);
      if (filePath) registeredFiles.add(filePath);
      const file = filePath && (await currentIdentity(filePath));
      if (!file) gone.push({ kind, name, entry });
      else if (file.size !== entry.file_size) {
        result.sizeDrift.push({ kind, name, registered: entry.file_size, actual: file.size });
        await job.log(
          `${kind}/${name}: ${file.size} bytes on disk, ${entry.file_size} registered (run verify to check it)`,
        );
      }
    }
    for (const fileName of await modelFilesIn(kindDir(deps.config.modelsDir, kind))) {
      const filePath = path.join(kindDir(deps.config.modelsDir, kind), fileName);
      const name = fileStem(fileName);
      if (registeredFiles.has(filePath)) continue;
      const problem = nameProblem(name);
      if (problem) {
        await skip(kind, fileName, `its name is not a model name (${problem})`);
        continue;
      }
      const holder = section[name];
      if (isUsableEntry(holder) && !gone.some((g) => g.kind === kind && g.name === name)) {
        await skip(kind, fileName, `the name "${name}" is registered for ${path.basename(holder.path)}`);
        continue;
      }
      // Adopting it would replace what someone wrote there; it is reported until it is fixed.
      const bad = unreadable.find((u) => u.kind === kind && u.name === name);
      if (bad) {
        await skip(kind, fileName, `its registry entry is unreadable (${bad.reason})`);
        continue;
      }
      candidates.push({ kind, name, filePath });
    }
  }

  if (gone.length > 0) {
    const dropped = await dropGone(registry, gone);
    result.dropped.push(...dropped);
    for (const d of dropped) await job.log(`${d.kind}/${d.name}: file gone; entry dropped`);
  }

  await job.updateProgress({ checked: 0, total: candidates.length });
  let checked = 0;
  const adoptions: Adoption[] = [];
  for (const candidate of candidates) {
    const adoption = await adopt(registry, candidate, (reason) =>
      skip(candidate.kind, path.basename(candidate.filePath), reason),
    );
    if (adoption) {
      const { item } = adoption;
      adoptions.push(adoption);
      result.adopted.push(item);
      await job.log(
        `${item.kind}/${path.basename(item.path)}: adopted as ${item.kind} "${item.name}" (sha256 ${item.sha256}, ${item.fileSize} bytes)`,
      );
    }
    checked += 1;
    await job.updateProgress({ checked, total: candidates.length });
  }
  await addOrigins(job, deps, adoptions);
  await job.log(
    `scan: ${result.adopted.length} adopted, ${result.dropped.length} dropped, ${result.sizeDrift.length} with another size, ${result.skipped.length} skipped, ${unreadable.length} unreadable entries`,
  );
  deps.logger.info({ jobId: job.id, ...result }, 'scan finished');
  return result;
}

/**
 * Names in a kind folder that may be models: regular files with a model extension. Hidden
 * files, staging and temporary files (`.part`, `.tmp-…`) are not.
 */
async function modelFilesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => d.name)
      .filter(
        (f) => !f.startsWith('.') && (MODEL_EXTENSIONS as readonly string[]).includes(path.extname(f).toLowerCase()),
      );
  } catch {
    return [];
  }
}

/** Under the lease: drops the entries that still describe the same download and still have no file. */
async function dropGone(
  registry: Registry,
  gone: ReadonlyArray<{ kind: ModelKind; name: string; entry: RegistryEntry }>,
) {
  return registry.update(
    async (data) => {
      const dropped: Array<{ kind: ModelKind; name: string }> = [];
      for (const { kind, name, entry } of gone) {
        const section = data[sectionOf(kind)];
        const current = section[name];
        if (!isUsableEntry(current) || !sameEntry(current, entry)) continue;
        const filePath = registry.localPath(kind, current);
        if (filePath && (await currentIdentity(filePath))) continue; // it came back
        delete section[name];
        dropped.push({ kind, name });
      }
      return dropped;
    },
    { write: (dropped) => dropped.length > 0 },
  );
}

async function adopt(
  registry: Registry,
  { kind, name, filePath }: { kind: ModelKind; name: string; filePath: string },
  skip: (reason: string) => Promise<void>,
): Promise<Adoption | null> {
  const before = await currentIdentity(filePath);
  if (!before) return null;
  const age = Date.now() - before.mtimeMs;
  if (age < SCAN_SETTLE_MS) {
    await skip(`modified ${Math.max(0, Math.round(age / 1000))} s ago, still being copied? Left for the next scan`);
    return null;
  }
  const hashed = await hashAsItIs(filePath);
  if (hashed.status !== 'hashed') {
    await skip(
      hashed.status === 'missing' ? 'gone while it was read' : 'changed while it was read; left for the next scan',
    );
    return null;
  }
  const entry = await registry.update(
    async (data) => {
      const section = data[sectionOf(kind)];
      if (isUsableEntry(section[name])) return null; // registered meanwhile (a download, another scan)
      const now = await currentIdentity(filePath);
      if (!now || !sameIdentity(now, hashed.file)) return null;
      const written = adoptedEntry(filePath, hashed.hash, hashed.file);
      section[name] = written;
      return { ...written };
    },
    { write: (written) => written !== null },
  );
  if (!entry) {
    await skip('registered or changed meanwhile');
    return null;
  }
  return { item: { kind, name, path: filePath, sha256: hashed.hash, fileSize: hashed.file.size }, entry };
}

/** An adopted file: no known origin (`url: ""`, never re-fetched), times of the adoption. */
function adoptedEntry(filePath: string, hash: string, file: FileIdentity): RegistryEntry {
  const now = nowSeconds();
  return {
    url: '',
    path: filePath,
    hash,
    downloaded_at: now,
    last_used: now,
    usage_count: 0,
    file_size: file.size,
    adopted: true,
  };
}
