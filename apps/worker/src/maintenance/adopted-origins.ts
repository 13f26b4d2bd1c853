import path from 'node:path';
import type { Job } from 'bullmq';
import type { ScanResult } from '@model-manager/core';
import { isUsableEntry, sectionOf, type Registry, type RegistryEntry } from '@model-manager/registry';
import type { CivitaiHashAnswer, CivitaiOrigin } from '@model-manager/sources';
import { askWhileAvailable } from './ask-while-available.js';
import { sameEntry } from './file-check.js';
import type { MaintenanceDeps } from './maintenance-deps.js';

/** Enough to hide Civitai's latency over many files, few enough to stay clear of its rate limits. */
const ORIGIN_LOOKUPS_AT_ONCE = 4;

/** A file scan adopted: the result's item (which gains `source`) and the entry scan wrote for it. */
export interface Adoption {
  item: ScanResult['adopted'][number];
  entry: RegistryEntry;
}

type Found = Adoption & { origin: CivitaiOrigin };

const originText = ({ source }: CivitaiOrigin) =>
  `civitai version ${source.versionId}${source.modelId !== undefined ? ` (model ${source.modelId})` : ''}`;

/**
 * Asks Civitai by SHA-256 where each adopted file comes from, and records what it knows in the
 * file's entry: `source`, and `url` so verify can fetch the file again. A few at a time; after
 * the first unavailable answer (offline, Civitai down) the rest are not asked, and it says so
 * once. Never throws: a file it learns nothing of stays adopted as it is.
 */
export async function addOrigins(job: Job, deps: MaintenanceDeps, adoptions: readonly Adoption[]): Promise<void> {
  if (adoptions.length === 0) return;
  const ask = (a: Adoption): Promise<CivitaiHashAnswer> =>
    deps.lookUpOrigin(a.item.sha256).catch((err: unknown) => ({ unavailable: (err as Error)?.message ?? String(err) }));
  const { answers, unavailable } = await askWhileAvailable(adoptions, ask, ORIGIN_LOOKUPS_AT_ONCE);
  if (unavailable !== undefined) {
    const without = answers.filter((a) => a === undefined || 'unavailable' in a).length;
    await job.log(`origin lookups stopped, ${without} adopted file(s) not looked up: ${unavailable}`);
    deps.logger.warn({ jobId: job.id, reason: unavailable, notLookedUp: without }, 'scan: origin lookups stopped');
  }
  const found = adoptions.flatMap((a, i): Found[] => {
    const answer = answers[i];
    return answer && 'found' in answer ? [{ ...a, origin: answer.found }] : [];
  });
  if (found.length === 0) return;
  let recorded: Found[];
  try {
    recorded = await record(deps.registry, found);
  } catch (err) {
    await job.log(`origins found but not recorded: ${(err as Error).message}`);
    return;
  }
  for (const { item, origin } of recorded) {
    item.source = origin.source;
    await job.log(`${item.kind}/${path.basename(item.path)}: origin: ${originText(origin)}`);
  }
}

/** Under the lease: each origin goes into its entry only while that is still the one scan wrote. */
function record(registry: Registry, found: readonly Found[]): Promise<Found[]> {
  return registry.update(
    (data) => {
      const recorded: Found[] = [];
      for (const f of found) {
        const current = data[sectionOf(f.item.kind)][f.item.name];
        if (!isUsableEntry(current) || !sameEntry(current, f.entry)) continue;
        current.url = f.origin.url;
        current.source = { ...f.origin.source };
        recorded.push(f);
      }
      return recorded;
    },
    { write: (recorded) => recorded.length > 0 },
  );
}
