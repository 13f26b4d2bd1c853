import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KIND_DIRS, REGISTRY_FILE } from '@model-manager/core';

/** The model folders of a volume, as the service names them. */
export const MODEL_FOLDERS: readonly string[] = Object.values(KIND_DIRS);

/** cache_registry.json of a volume, as it is on disk now. */
export const registryOf = (modelsDir: string): any =>
  JSON.parse(readFileSync(path.join(modelsDir, REGISTRY_FILE), 'utf8'));
