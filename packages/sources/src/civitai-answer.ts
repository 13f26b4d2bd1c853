import { civitaiVersionSchema, malformedAnswer } from './civitai-version-schema.js';
import { fileParamsOf, pickCivitaiFile } from './pick-civitai-file.js';
import { SourceError, type CivitaiRef } from './resolution.js';
import type { MetadataAnswer } from './source-metadata.js';

export const CIVITAI_NO_SHA256 = 'the host publishes no SHA-256 for this file';

/** The chosen file's metadata from a model version's JSON; a version without files cannot be fetched. */
export function civitaiAnswer(ref: CivitaiRef, json: unknown): MetadataAnswer {
  const parsed = civitaiVersionSchema.safeParse(json);
  if (!parsed.success) return { unavailable: `Civitai metadata unavailable: ${malformedAnswer(parsed.error)}` };
  const version = parsed.data;
  const file = pickCivitaiFile(version.files, ref.params);
  if (!file) throw new SourceError('SOURCE_NOT_FOUND', `Civitai model version ${ref.versionId} has no files`);
  const hash = file.hashes?.SHA256?.toLowerCase();
  const sha256 = hash && /^[0-9a-f]{64}$/.test(hash) ? hash : undefined;
  const modelId = version.modelId ?? undefined;
  return {
    found: {
      fileName: file.name,
      ...(sha256 ? { sha256 } : { noSha256Reason: CIVITAI_NO_SHA256 }),
      size: Math.round(file.sizeKB * 1024),
      source: { host: 'civitai', versionId: ref.versionId, ...(modelId ? { modelId } : {}), fileId: file.id },
      fileParams: fileParamsOf(file),
    },
  };
}
