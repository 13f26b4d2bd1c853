import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

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
    return `${escapePart(prefix)}.${escapePart(jobId)}`;
  }

  async size(): Promise<number> {
    try {
      return (await stat(this.partPath)).size;
    } catch {
      return 0;
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

  async writeMeta(meta: StagingMeta): Promise<void> {
    const tmp = `${this.metaPath}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, JSON.stringify(meta));
    await rename(tmp, this.metaPath);
  }

  async remove(): Promise<void> {
    await Promise.all([rm(this.partPath, { force: true }), rm(this.metaPath, { force: true })]);
  }
}

export function escapePart(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
