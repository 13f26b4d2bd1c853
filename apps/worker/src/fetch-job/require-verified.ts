import { ModelFetchError, type FetchModelJobData } from '@model-manager/core';

/**
 * With REQUIRE_VERIFIED, a job that knows no SHA-256 before its download is refused before any
 * request. The API refuses such requests itself; this covers jobs that never passed its check
 * (a maintenance refetch of a model whose entry has no hash, a job added by hand).
 */
export function unverifiedRefusal(
  ref: Pick<FetchModelJobData, 'sha256' | 'unverifiedReason'>,
  requireVerified: boolean,
): ModelFetchError | undefined {
  if (!requireVerified || ref.sha256) return undefined;
  return new ModelFetchError(
    'UNVERIFIED',
    `no SHA-256 is known for this file before its download (${ref.unverifiedReason ?? 'no expected hash given'}) ` +
      'and REQUIRE_VERIFIED is on; give its sha256',
    { retryable: false },
  );
}
