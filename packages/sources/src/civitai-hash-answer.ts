import type { SourceRecord } from '@model-manager/core';
import { civitaiVersionByHashSchema, malformedAnswer } from './civitai-version-schema.js';
import { downloadUrlOf } from './download-url.js';
import type { SourceEndpoints } from './endpoints.js';
import { fileParamsOf } from './pick-civitai-file.js';

/** Where a file Civitai knows by its SHA-256 comes from, and where it is downloaded again. */
export interface CivitaiOrigin {
  source: Extract<SourceRecord, { host: 'civitai' }>;
  /** On the configured endpoint, with the file's own parameters, so a download gets this very file. */
  url: string;
  fileName: string;
}

/** What Civitai says of a SHA-256: the file's origin, that it knows none, or why it could not be asked. */
export type CivitaiHashAnswer = { found: CivitaiOrigin } | { notFound: true } | { unavailable: string };

/**
 * The origin of the version's file whose SHA-256 is `sha256` (lower case). A version that lists
 * no such file (it matched some other hash Civitai keeps) names no origin for it.
 */
export function civitaiHashAnswer(sha256: string, json: unknown, endpoints: SourceEndpoints): CivitaiHashAnswer {
  const parsed = civitaiVersionByHashSchema.safeParse(json);
  if (!parsed.success) return { unavailable: `Civitai metadata unavailable: ${malformedAnswer(parsed.error)}` };
  const version = parsed.data;
  const file = version.files.find((f) => f.hashes?.SHA256?.toLowerCase() === sha256);
  if (!file) return { notFound: true };
  const modelId = version.modelId ?? undefined;
  const params = fileParamsOf(file);
  return {
    found: {
      source: { host: 'civitai', versionId: version.id, ...(modelId ? { modelId } : {}), fileId: file.id },
      url: downloadUrlOf({ host: 'civitai', versionId: version.id, params }, endpoints),
      fileName: file.name,
    },
  };
}
