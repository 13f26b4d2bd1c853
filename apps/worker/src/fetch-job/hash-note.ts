import type { FetchModelJobData } from '@model-manager/core';

/** The job-log line saying whether the file's SHA-256 was checked, and against whose hash. */
export function hashNote(ref: Pick<FetchModelJobData, 'sha256' | 'source' | 'unverifiedReason'>, sha256: string) {
  if (!ref.sha256) return `sha256 ${sha256} (not verified: ${ref.unverifiedReason ?? 'no expected hash given'})`;
  // With a source, the API resolved the reference and the hash is the one the host published.
  return ref.source ? `sha256 verified against the host's hash: ${sha256}` : `sha256 verified: ${sha256}`;
}
