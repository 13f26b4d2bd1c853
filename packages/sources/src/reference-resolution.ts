import path from 'node:path';
import type { ModelRequest, SourceRecord } from '@model-manager/core';
import { defaultName } from './default-name.js';
import { downloadUrlOf } from './download-url.js';
import type { SourceEndpoints } from './endpoints.js';
import { downloadParams } from './pick-civitai-file.js';
import { SourceError, type Resolution, type SourceRef } from './resolution.js';
import type { MetadataAnswer, SourceMetadata } from './source-metadata.js';

const describe = (ref: SourceRef) =>
  ref.host === 'huggingface'
    ? `Hugging Face publishes for ${ref.repo}/${ref.path}@${ref.revision}`
    : `Civitai publishes for version ${ref.versionId}`;

/** Where the file comes from when the host told nothing more than the reference says. */
function recordOf(ref: SourceRef): SourceRecord {
  return ref.host === 'huggingface'
    ? { host: 'huggingface', repo: ref.repo, revision: ref.revision, path: ref.path }
    : { host: 'civitai', versionId: ref.versionId, ...(ref.modelId ? { modelId: ref.modelId } : {}) };
}

/** The reference as downloaded: a Civitai one with the parameters of the file the metadata chose. */
function downloadRef(ref: SourceRef, metadata: SourceMetadata | undefined): SourceRef {
  if (ref.host !== 'civitai' || !metadata?.fileParams) return ref;
  return { ...ref, params: downloadParams(ref.params, metadata.fileParams) };
}

function checkModel(ref: SourceRef, metadata: SourceMetadata | undefined): void {
  const modelId = metadata?.source.host === 'civitai' ? metadata.source.modelId : undefined;
  if (ref.host === 'civitai' && ref.modelId !== undefined && modelId !== undefined && modelId !== ref.modelId) {
    throw new SourceError(
      'SOURCE_NOT_FOUND',
      `Civitai model ${ref.modelId} has no version ${ref.versionId} (it is a version of model ${modelId})`,
    );
  }
}

function nameOf(request: ModelRequest, ref: SourceRef, metadata: SourceMetadata | undefined): string {
  if (request.name !== undefined) return request.name;
  if (metadata) return defaultName(metadata.fileName);
  return ref.host === 'huggingface' ? defaultName(path.posix.basename(ref.path)) : `civitai-${ref.versionId}`;
}

/** A reference made concrete with what its host said (or could not say) of the file. */
export function referenceResolution(
  request: ModelRequest,
  ref: SourceRef,
  answer: MetadataAnswer,
  endpoints: SourceEndpoints,
): Resolution {
  const metadata = 'found' in answer ? answer.found : undefined;
  checkModel(ref, metadata);
  const given = request.sha256?.toLowerCase();
  const host = metadata?.sha256;
  if (given && host && given !== host) {
    throw new SourceError(
      'HASH_CONFLICT',
      `the sha256 given (${given.slice(0, 12)}…) is not the one ${describe(ref)} (${host.slice(0, 12)}…)`,
      { given, host },
    );
  }
  const sha256 = given ?? host;
  const unverifiedReason = metadata
    ? metadata.noSha256Reason
    : 'unavailable' in answer
      ? answer.unavailable
      : undefined;
  return {
    ref: {
      kind: request.kind,
      name: nameOf(request, ref, metadata),
      url: downloadUrlOf(downloadRef(ref, metadata), endpoints),
      ...(sha256 ? { sha256 } : {}),
      ...(request.mirrors ? { mirrors: request.mirrors } : {}),
    },
    ...(metadata ? { expectedSize: metadata.size } : {}),
    source: metadata?.source ?? recordOf(ref),
    verified: sha256 !== undefined,
    ...(sha256 ? {} : { unverifiedReason: unverifiedReason ?? 'the host publishes no SHA-256 for this file' }),
  };
}
