import { rm } from 'node:fs/promises';
import path from 'node:path';
import { nowSeconds, type FetchModelJobData, type Model } from '@model-manager/core';
import { sectionOf, syncDir, toModel, type Registry, type RegistryEntry } from '@model-manager/registry';

/**
 * Publishes a verified file and its registry entry together, under the registry lease: the new
 * registry is made durable first, then the file is moved into place, then the registry file is
 * replaced. A failure before the last step leaves neither; after it, both.
 */
export async function publishModel(
  registry: Registry,
  ref: FetchModelJobData,
  source: string,
  finalPath: string,
  entry: RegistryEntry,
  place: () => Promise<void>,
  unplace: () => Promise<void>,
): Promise<Model> {
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

/** The registry entry of a model published now. */
export function newEntry(finalPath: string, hash: string, size: number): RegistryEntry {
  const now = nowSeconds();
  // The download is the first use, as the Python module counts it: both rank popularity alike.
  return { url: '', path: finalPath, hash, downloaded_at: now, last_used: now, usage_count: 1, file_size: size };
}
