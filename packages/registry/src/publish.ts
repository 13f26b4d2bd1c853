import { copyFile, link, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { modelFilePath, nowSeconds, type Model, type ModelKind, type SourceRecord } from '@model-manager/core';
import { sectionOf, syncDir, type RegistryEntry } from './registry-file.js';
import { toModel, type Registry } from './registry.js';

/** A verified file ready to become a model on the volume. */
export interface Publication {
  kind: ModelKind;
  name: string;
  /** Where the file was downloaded from, as the entry records it. */
  url: string;
  /** The Hugging Face file or Civitai version the URL was resolved from, recorded as the entry's `source`. */
  source?: SourceRecord;
  /** The verified file, outside the kind folder; moved into place, or left here if publishing fails. */
  file: string;
  /** The extension the published file takes ('.safetensors', '.ckpt', ...). */
  ext: string;
  sha256: string;
  size: number;
  /**
   * The publisher's last check, under the registry lease and right before the file appears (the
   * worker asks Redis whether the job is still its own). Throwing publishes nothing.
   */
  beforePlace?: () => Promise<void>;
}

/**
 * Publishes a file and its registry entry together, under the registry lease: the new registry
 * is made durable first, then the file is moved into place, then the registry file is replaced.
 * A failure before the last step leaves neither (the file goes back where it was); after it, both.
 * Removal (`Registry.removeWhere`) takes the same lease, so the two are ordered.
 */
export async function publishModel(registry: Registry, p: Publication): Promise<Model> {
  const finalPath = modelFilePath(registry.modelsDir, p.kind, p.name, p.ext);
  const entry = newEntry(finalPath, p.sha256, p.size);
  let placed = false;
  let replaced: string | null = null;
  try {
    await registry.update(
      (data) => {
        const section = data[sectionOf(p.kind)];
        const previous = section[p.name];
        if (previous && typeof previous.path === 'string') {
          const old = registry.localPath(p.kind, previous as RegistryEntry);
          if (old && old !== finalPath) replaced = old;
          // A re-download is the same model: its popularity carries over.
          entry.usage_count = typeof previous.usage_count === 'number' ? previous.usage_count : 0;
        }
        entry.url = p.url;
        if (p.source) entry.source = { ...p.source };
        // Fetched again from the same URL without a reference (a refetch of a corrupt file, say):
        // the same file, so where it came from still holds, kept as it was written.
        else if (previous?.source !== undefined && previous.url === p.url) entry.source = previous.source;
        section[p.name] = entry;
      },
      {
        beforeCommit: async (held) => {
          await held.assertHeld();
          await p.beforePlace?.();
          await rename(p.file, finalPath);
          placed = true;
          await syncDir(path.dirname(finalPath));
        },
      },
    );
  } catch (err) {
    if (placed) await rename(finalPath, p.file).catch(() => {});
    throw err;
  }
  // The same model under another extension: its old file is no longer listed anywhere.
  if (replaced) await rm(replaced, { force: true });
  return toModel(p.kind, p.name, entry, finalPath);
}

/** The registry entry of a model published now. */
export function newEntry(finalPath: string, hash: string, size: number): RegistryEntry {
  const now = nowSeconds();
  // The download is the first use, as the Python module counts it: both rank popularity alike.
  return { url: '', path: finalPath, hash, downloaded_at: now, last_used: now, usage_count: 1, file_size: size };
}

/** A model published from bytes already on the volume under another name. */
export interface SameContent {
  model: Model;
  from: { kind: ModelKind; name: string; path: string };
  how: 'hard link' | 'copy';
}

/**
 * Publishes `kind/name` from a model already on the volume with the same content: a hard link
 * (a copy where links are impossible) made at `tmpPath`, then published like a download. Null
 * when no such model exists, or when it is this very file.
 */
export async function publishSameContent(
  registry: Registry,
  ref: { kind: ModelKind; name: string; url: string; sha256?: string; source?: SourceRecord },
  tmpPath: string,
): Promise<SameContent | null> {
  if (!ref.sha256) return null;
  const twin = await registry.findByHash(ref.sha256);
  if (!twin) return null;
  const ext = path.extname(twin.path).toLowerCase();
  if (modelFilePath(registry.modelsDir, ref.kind, ref.name, ext) === twin.path) return null;
  let how: SameContent['how'] = 'hard link';
  try {
    await link(twin.path, tmpPath);
  } catch {
    how = 'copy';
    await copyFile(twin.path, tmpPath);
  }
  try {
    const model = await publishModel(registry, {
      kind: ref.kind,
      name: ref.name,
      url: ref.url,
      source: ref.source,
      file: tmpPath,
      ext,
      sha256: ref.sha256,
      size: twin.size,
    });
    return { model, from: { kind: twin.kind, name: twin.name, path: twin.path }, how };
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
}
