import { EXAMPLE_CIVITAI_VERSIONS, type ExampleVersion } from './example-versions.js';
import { fakeFile } from './fake-file.js';
import type { CivitaiFileSpec } from './civitai-publish.js';
import type { FakeCivitai } from './fake-civitai.js';
import type { FakeHuggingFace } from './fake-hugging-face.js';
import { safetensorsOf } from './safetensors.js';
import { seededBytes } from './seeded-bytes.js';

/** The Hub files of the example: an LFS safetensors file and a plain (non-LFS) JSON file. */
export const EXAMPLE_HF_FILES = [
  { repo: 'stabilityai/sdxl-vae', path: 'sdxl_vae.safetensors', lfs: true },
  { repo: 'runwayml/tiny', path: 'config.json', lfs: false },
];

const TINY_CONFIG = { _class_name: 'UNet2DConditionModel', sample_size: 8, in_channels: 4, out_channels: 4 };
/** The version that also carries a non-primary file, so a download URL's ?type= has a choice. */
const WITH_TRAINING_DATA = 135867;

function filesOf(v: ExampleVersion): CivitaiFileSpec[] {
  const body = safetensorsOf(v.bytes, `civitai:${v.versionId}:${v.fileName}`);
  const sizeLabel = v.modelType === 'Checkpoint' ? 'pruned' : 'full';
  const primary = { name: v.fileName, file: fakeFile(v.fileName, body), sizeLabel, fp: 'fp16', primary: true } as const;
  if (v.versionId !== WITH_TRAINING_DATA) return [primary];
  const name = 'hand_5.5_training_data.zip';
  const zip = Buffer.concat([Buffer.from('PK\x03\x04'), seededBytes(`civitai:${v.versionId}:${name}`, 48 * 1024)]);
  return [primary, { name, file: fakeFile(name, zip), type: 'Training Data', format: 'Other' }];
}

/**
 * Loads the example into the fakes. Content is generated from fixed seeds, so every file has
 * the same SHA-256 on every run.
 */
export function exampleCatalog(hf: FakeHuggingFace, civitai: FakeCivitai): void {
  for (const v of EXAMPLE_CIVITAI_VERSIONS) civitai.addVersion({ ...v, files: filesOf(v) });
  const vae = safetensorsOf(2 * 1024 * 1024 + 333, 'hf:stabilityai/sdxl-vae/sdxl_vae.safetensors');
  hf.addFile('stabilityai/sdxl-vae', 'sdxl_vae.safetensors', fakeFile('sdxl_vae.safetensors', vae));
  const config = Buffer.from(`${JSON.stringify(TINY_CONFIG, null, 2)}\n`);
  hf.addFile('runwayml/tiny', 'config.json', fakeFile('config.json', config), { lfs: false });
}
