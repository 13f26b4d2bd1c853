import type { Dispatcher } from 'undici';
import type { Logger, NetworkPolicy } from '@model-manager/core';
import type { StagingFile } from './staging/staging-file.js';

export interface DownloadProgress {
  bytes: number;
  totalBytes: number | null;
  bytesPerSec: number;
}

export interface DownloadRequest {
  /** The URL to fetch in this attempt, as sent (may carry a query token). */
  url: string;
  /** Index of `url` among the job's sources; resume only continues bytes of the same source. */
  sourceIndex: number;
  staging: StagingFile;
  /** Lower-case hex; when set, a different hash fails with HASH_MISMATCH. */
  expectedSha256?: string;
  dispatcher: Dispatcher;
  signal?: AbortSignal;
  logger: Logger;
  /** The Authorization header for one hop (its URL, and the URL the request started at). */
  authorization?: (url: string, startedAt: string) => string | undefined;
  /**
   * The size the host published: a larger one than maxBytes fails with TOO_LARGE before any
   * request, room is made for it before the request, and a file of another size fails with
   * SIZE_MISMATCH.
   */
  expectedSize?: number;
  /**
   * Called before the first byte is written, with the bytes to write: before the request when
   * expectedSize tells them, else once the response is known to be a model body (null: its
   * size is unknown). May throw DISK_FULL.
   */
  beforeWrite?: (remainingBytes: number | null) => Promise<void>;
  /**
   * Called once a response is known to be the file, before a byte is written: may refuse it
   * (too large, a format not allowed) by throwing.
   */
  checkResponse?: (response: {
    finalUrl: string;
    contentDisposition: string | null;
    totalBytes: number | null;
  }) => void;
  /** A body that runs past this many bytes is cut off and fails with TOO_LARGE. */
  maxBytes?: number;
  /** Checked before every write (fencing); throws to stop. */
  assertMayWrite?: () => void;
  onProgress?: (progress: DownloadProgress) => void;
  /** Parallel range requests for a large file (1, the default: never). */
  segments?: number;
  /** Files smaller than this are fetched over one connection. */
  segmentMinBytes?: number;
  /** Hosts and addresses allowed, checked on every hop (the agent checks addresses after DNS). */
  networkPolicy?: NetworkPolicy;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  finalUrl: string;
  contentDisposition: string | null;
  /** Bytes that were already in the staging file and were not downloaded again. */
  resumedFrom: number;
  /** Parallel range requests used; absent for a download over one connection. */
  segments?: number;
}

/** Parallel range requests the request allows. */
export const segmentsOf = (req: DownloadRequest): number => req.segments ?? 1;
