import { redactUrl } from '@model-manager/core';
import type { StagingFile, StagingMeta } from './staging-file.js';

/** Which source a job's staged bytes come from, and the sources already given up on. */
export interface StagingSource {
  /** The source URL (its tokens are stripped before it is written). */
  url: string;
  sourceIndex: number;
  deadSources: readonly number[];
}

/** What a write says about the download itself; the source and the dead sources are added by writeStagingMeta. */
export type StagingProgress = Omit<StagingMeta, 'source' | 'sourceIndex' | 'deadSources' | 'updatedAt'>;

/**
 * The one writer of a job's staging metadata (`.part.json`). Every write names the source and
 * carries the list of dead sources, so no write can drop what an earlier attempt learnt.
 */
export function writeStagingMeta(
  staging: StagingFile,
  from: StagingSource,
  progress: StagingProgress = {},
): Promise<void> {
  return staging.writeMeta({
    source: redactUrl(from.url),
    sourceIndex: from.sourceIndex,
    ...(from.deadSources.length > 0 ? { deadSources: [...from.deadSources] } : {}),
    ...progress,
    // The URL the origin answered from may carry the caller's ?token=: the volume keeps none.
    // It only names the file's extension and the log line, so its path is all a resume needs.
    ...(progress.finalUrl ? { finalUrl: redactUrl(progress.finalUrl) } : {}),
    updatedAt: Date.now(),
  });
}
