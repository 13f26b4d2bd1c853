import type { RegistryEntry } from '@model-manager/registry';

/** A registry entry for the file at `filePath`: one byte, never used, unless `more` says otherwise. */
export function testEntry(filePath: string, more: Partial<RegistryEntry> = {}): RegistryEntry {
  return {
    url: '',
    path: filePath,
    hash: '',
    downloaded_at: 1,
    last_used: 1,
    usage_count: 0,
    file_size: 1,
    ...more,
  };
}
