import { randomBytes } from 'node:crypto';
import { civitaiHashes } from './civitai-hashes.js';
import type { CivitaiFile, CivitaiVersion } from './civitai-version.js';
import { type FakeFile, fakeFile } from './fake-file.js';
import { safetensorsOf } from './safetensors.js';

export interface CivitaiFileSpec {
  fileId?: number;
  name: string;
  /** Bytes of generated content (64 KiB by default) when no `file` is given. */
  size?: number;
  file?: FakeFile;
  /** 'Model' (default), 'Pruned Model', 'Training Data', 'VAE', 'Config' */
  type?: string;
  /** 'SafeTensor' (default), 'PickleTensor', 'Other' */
  format?: string;
  sizeLabel?: 'full' | 'pruned';
  fp?: 'fp16' | 'fp32' | 'bf16';
  primary?: boolean;
}

export interface CivitaiVersionSpec {
  versionId: number;
  modelId: number;
  modelName?: string;
  /** 'LORA' (default), 'Checkpoint', 'TextualInversion' ... */
  modelType?: string;
  /** The version's name; default v1.0. */
  name?: string;
  baseModel?: string;
  trainedWords?: string[];
  files: CivitaiFileSpec[];
}

/** A fixed date, so a version's JSON is the same on every run. */
const CREATED_AT = '2024-03-01T12:00:00.000Z';

function contentOf(spec: CivitaiFileSpec): FakeFile {
  if (spec.file) return spec.file.name === spec.name ? spec.file : { ...spec.file, name: spec.name };
  const size = spec.size ?? 64 * 1024;
  const safetensors = (spec.format ?? 'SafeTensor') === 'SafeTensor';
  return fakeFile(spec.name, safetensors ? safetensorsOf(size) : randomBytes(size));
}

/** A version as published: defaults filled in, content generated, hashes computed. */
export function publishVersion(spec: CivitaiVersionSpec): CivitaiVersion {
  const hasPrimary = spec.files.some((f) => f.primary);
  const files = spec.files.map((f, i): CivitaiFile => {
    const file = contentOf(f);
    return {
      id: f.fileId ?? spec.versionId * 100 + i + 1,
      name: f.name,
      type: f.type ?? 'Model',
      format: f.format ?? 'SafeTensor',
      size: f.sizeLabel,
      fp: f.fp,
      // With no file marked primary, the first is.
      primary: hasPrimary ? f.primary === true : i === 0,
      file,
      hashes: civitaiHashes(file),
    };
  });
  return {
    versionId: spec.versionId,
    modelId: spec.modelId,
    name: spec.name ?? 'v1.0',
    modelName: spec.modelName ?? `Model ${spec.modelId}`,
    modelType: spec.modelType ?? 'LORA',
    baseModel: spec.baseModel ?? 'SDXL 1.0',
    trainedWords: spec.trainedWords ?? [],
    createdAt: CREATED_AT,
    files,
  };
}
