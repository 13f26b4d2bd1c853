import type { CivitaiHashes } from './civitai-hashes.js';
import type { FakeFile } from './fake-file.js';

export interface CivitaiFile {
  id: number;
  name: string;
  /** 'Model' | 'Pruned Model' | 'Training Data' | 'VAE' | 'Config' */
  type: string;
  /** 'SafeTensor' | 'PickleTensor' | 'Other' */
  format: string;
  size?: 'full' | 'pruned';
  fp?: 'fp16' | 'fp32' | 'bf16';
  primary: boolean;
  file: FakeFile;
  hashes: CivitaiHashes;
}

export interface CivitaiVersion {
  versionId: number;
  modelId: number;
  /** The version's own name (v1.0). */
  name: string;
  modelName: string;
  /** 'LORA' | 'Checkpoint' | 'TextualInversion' ... */
  modelType: string;
  baseModel: string;
  trainedWords: string[];
  createdAt: string;
  files: CivitaiFile[];
}

/** What Civitai breaks, when told to: the file list, or the published SHA-256s. */
export type CivitaiMalformation = 'files' | 'hash';

const query = (f: CivitaiFile) =>
  [
    ['type', f.type],
    ['format', f.format],
    ['size', f.size],
    ['fp', f.fp],
  ]
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${encodeURIComponent(value!)}`)
    .join('&');

/** GET /api/v1/model-versions/{id} (and by-hash), as the public REST API documents it. */
export function versionJson(version: CivitaiVersion, base: string, malformation?: CivitaiMalformation): unknown {
  const download = `${base}/api/download/models/${version.versionId}`;
  const files = version.files.map((f) => ({
    id: f.id,
    sizeKB: f.file.size / 1024,
    name: f.name,
    type: f.type,
    pickleScanResult: 'Success',
    pickleScanMessage: 'No Pickle imports',
    virusScanResult: 'Success',
    virusScanMessage: null,
    scannedAt: version.createdAt,
    metadata: { format: f.format, size: f.size, fp: f.fp },
    hashes: malformation === 'hash' ? { ...f.hashes, SHA256: 'xyz' } : f.hashes,
    downloadUrl: `${download}?${query(f)}`,
    primary: f.primary,
  }));
  return {
    id: version.versionId,
    modelId: version.modelId,
    name: version.name,
    createdAt: version.createdAt,
    updatedAt: version.createdAt,
    status: 'Published',
    publishedAt: version.createdAt,
    trainedWords: version.trainedWords,
    baseModel: version.baseModel,
    baseModelType: 'Standard',
    earlyAccessTimeFrame: 0,
    description: null,
    model: { name: version.modelName, type: version.modelType, nsfw: false, poi: false },
    files: malformation === 'files' ? 'nope' : files,
    images: [],
    downloadUrl: download,
  };
}
