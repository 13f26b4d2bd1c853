import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { escapeStagingPart } from '@model-manager/core';

/** What a later attempt needs to resume: the response validator and where the bytes came from. */
export interface StagingMeta {
  /** The source URL the bytes came from (tokens stripped), so another source starts over. */
  source: string;
  /** Index of that source in [url, ...mirrors]. */
  sourceIndex: number;
  /** Sources that failed in a way retrying them cannot fix (404, 401, 403, not a model, wrong hash). */
  deadSources?: number[];
  etag?: string;
  lastModified?: string;
  totalBytes?: number | null;
  /** Segmented downloads: bytes written so far of each piece of `pieceSize` bytes. */
  pieceSize?: number;
  pieces?: number[];
  contentDisposition?: string | null;
  /** The origin answered a range request with the whole file: later attempts use one connection. */
  noSegments?: boolean;
  finalUrl?: string;
  updatedAt: number;
}

/**
 * A job's staging file in MODELS_DIR/.incoming/: `<prefix>.<jobId>.part` beside its metadata
 * `<prefix>.<jobId>.part.json`. Named after the job, not the attempt, so whichever worker
 * runs the next attempt finds the bytes already downloaded.
 */
export class StagingFile {
  readonly partPath: string;
  readonly metaPath: string;

  constructor(
    readonly dir: string,
    readonly key: string,
  ) {
    this.partPath = path.join(dir, `${key}.part`);
    this.metaPath = path.join(dir, `${key}.part.json`);
  }

  /**
   * `<prefix>.<jobId>`, each part escaped (anything but [A-Za-z0-9_-] as %XX, the dot included),
   * so it is one plain file name and no two prefixes or jobs share one.
   */
  static keyFor(prefix: string, jobId: string): string {
    return `${escapeStagingPart(prefix)}.${escapeStagingPart(jobId)}`;
  }

  /** Bytes staged so far; 0 when there is no regular file (a symlink planted there counts as none). */
  async size(): Promise<number> {
    try {
      const st = await lstat(this.partPath);
      return st.isFile() ? st.size : 0;
    } catch {
      return 0;
    }
  }

  /**
   * Opens the staging file for writing, keeping its bytes (`keep`) or empty, never through a
   * symlink: the name is predictable, and a link planted there by anything that can write to
   * the volume must not make the worker write to a file outside MODELS_DIR. Such a link is
   * removed (the link, not its target) and a new empty file made in its place.
   */
  async openForWrite(keep: boolean): Promise<FileHandle> {
    const create = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
    try {
      return await open(this.partPath, keep ? constants.O_RDWR | constants.O_NOFOLLOW : create, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
      await rm(this.partPath, { force: true });
      return open(this.partPath, create | constants.O_EXCL, 0o644);
    }
  }

  async readMeta(): Promise<StagingMeta | null> {
    try {
      const meta = JSON.parse(await readFile(this.metaPath, 'utf8')) as StagingMeta;
      return typeof meta.source === 'string' && typeof meta.sourceIndex === 'number' ? meta : null;
    } catch {
      return null;
    }
  }

  /** Replaces the metadata file atomically. Written through writeStagingMeta, which keeps what every write must carry. */
  async writeMeta(meta: StagingMeta): Promise<void> {
    const tmp = `${this.metaPath}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(meta));
    await rename(tmp, this.metaPath);
  }

  async remove(): Promise<void> {
    await Promise.all([rm(this.partPath, { force: true }), rm(this.metaPath, { force: true })]);
  }
}
