import { z } from 'zod';
import { sourceRecordSchema, type SourceRecord } from '@model-manager/core';
import type { RegistryEntry } from './registry-schema.js';

// An entry's `source` (where the file came from: a Hugging Face file or a Civitai version), read
// as generously as the rest of the entry: ids written as strings, `null` for a field not
// recorded, fields it does not know. It is not part of the entry schema, so one that makes no
// sense never makes its entry unusable; it is just not shown, and stays in the file as written.

const id = z
  .union([z.number(), z.string().trim().regex(/^\d+$/, 'not a whole number').transform(Number)])
  .pipe(z.number().int().nonnegative());
const text = z.string().min(1);

const entrySourceSchema = z.discriminatedUnion('host', [
  z.looseObject({
    host: z.literal('huggingface'),
    repo: text,
    revision: text,
    path: text,
    commit: text.nullish(),
  }),
  z.looseObject({ host: z.literal('civitai'), versionId: id, modelId: id.nullish(), fileId: id.nullish() }),
]);

// Registry data is kept while the file is unchanged, so each entry's source is read once, not on
// every cache hit and listing.
const read = new WeakMap<object, SourceRecord | undefined>();

/** The entry's source as the API shows it; undefined when it has none or one that makes no sense. */
export function sourceOfEntry(entry: RegistryEntry): SourceRecord | undefined {
  const raw = entry.source;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object') return readSource(raw);
  if (!read.has(raw)) read.set(raw, readSource(raw));
  return read.get(raw);
}

function readSource(raw: unknown): SourceRecord | undefined {
  const parsed = entrySourceSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const s = parsed.data;
  const record =
    s.host === 'huggingface'
      ? { host: s.host, repo: s.repo, revision: s.revision, path: s.path, ...(s.commit ? { commit: s.commit } : {}) }
      : {
          host: s.host,
          versionId: s.versionId,
          ...(s.modelId != null ? { modelId: s.modelId } : {}),
          ...(s.fileId != null ? { fileId: s.fileId } : {}),
        };
  // The API's own schema has the last word on what a source is.
  const checked = sourceRecordSchema.safeParse(record);
  return checked.success ? checked.data : undefined;
}
