import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { parseRegistry, writeFileAtomic, type RegistryData } from './registry-file.js';

/**
 * The last registry the service wrote, kept beside it on the volume: every host sharing the
 * volume sees the same copy, it lives as long as the volume does, and no other writer of
 * cache_registry.json touches it. A rebuild starts from it; entries another writer dropped are
 * restored from it.
 */
export const lastGoodPath = (registryFile: string): string => `${registryFile}.last-good`;

/**
 * A top-level key naming the service's write that produced a registry. A whole-file rewrite
 * from a copy loaded earlier carries an older id than the last-good copy: that is how such a
 * rewrite is told from one that started from the service's latest registry.
 */
export const WRITE_ID_KEY = 'service_write_id';

export const newWriteId = (): string => randomBytes(8).toString('hex');

export const writeIdOf = (data: RegistryData): string | undefined => {
  const id = data[WRITE_ID_KEY];
  return typeof id === 'string' ? id : undefined;
};

/** Reads the last-good copy, reading the file again only when it changed. */
export class LastGoodCopy {
  private cached: { signature: string; text: string | null; writeId: string | undefined } | undefined;

  constructor(readonly file: string) {}

  /** A fresh parse each time: callers change what they get. */
  async read(): Promise<RegistryData | null> {
    const text = (await this.load())?.text;
    const result = text ? parseRegistry(text) : null;
    return result?.status === 'ok' ? result.data : null;
  }

  async writeId(): Promise<string | undefined> {
    return (await this.load())?.writeId;
  }

  /**
   * Not fsynced: the registry write just before it was, and two more fsyncs per change slow the
   * downloads sharing the disk. After a power loss the copy may be a write behind, or unreadable
   * (then a rebuild starts from the folders alone).
   */
  write(text: string): Promise<void> {
    return writeFileAtomic(this.file, text, undefined, false);
  }

  private async load() {
    let signature: string;
    try {
      const st = await stat(this.file);
      signature = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined;
    }
    if (this.cached?.signature !== signature) {
      const text = await readFile(this.file, 'utf8').catch(() => null);
      const parsed = text ? parseRegistry(text) : null;
      this.cached = { signature, text, writeId: parsed?.status === 'ok' ? writeIdOf(parsed.data) : undefined };
    }
    return this.cached;
  }
}
