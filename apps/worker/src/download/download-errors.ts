import { ModelFetchError } from '@model-manager/core';

/** undici's and the system's codes for a connection, headers or body that took too long. */
const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

export const notAModel = (why: string) => new ModelFetchError('NOT_A_MODEL', why, { retryable: false });
export const tooLarge = (why: string) => new ModelFetchError('TOO_LARGE', why, { retryable: false });
export const sizeMismatch = (why: string) => new ModelFetchError('SIZE_MISMATCH', why, { retryable: true });

/**
 * A failure of the connection or the body as a ModelFetchError: the reason the signal was
 * aborted with (LOCK_LOST, say), SHUTDOWN for any other abort, TIMEOUT, PRIVATE_ADDRESS, or
 * NETWORK_ERROR.
 */
export function networkError(err: unknown, signal?: AbortSignal): ModelFetchError {
  if (err instanceof ModelFetchError) return err;
  if (signal?.aborted) {
    const reason = signal.reason as unknown;
    if (reason instanceof ModelFetchError) return reason;
    return new ModelFetchError('SHUTDOWN', 'download stopped: the worker is shutting down', { retryable: true });
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code ?? '';
  if (code === 'PRIVATE_ADDRESS')
    return new ModelFetchError('PRIVATE_ADDRESS', (e.code ? e : e.cause!).message, { retryable: false });
  if (TIMEOUT_CODES.has(code)) {
    const what =
      code === 'UND_ERR_BODY_TIMEOUT'
        ? 'stalled: no body bytes arrived within DOWNLOAD_IDLE_TIMEOUT'
        : code === 'UND_ERR_HEADERS_TIMEOUT'
          ? 'no response headers within the timeout'
          : 'could not connect within the timeout';
    return new ModelFetchError('TIMEOUT', `${what} (${code})`, { retryable: true });
  }
  return new ModelFetchError('NETWORK_ERROR', `${e?.message ?? String(err)}${code ? ` (${code})` : ''}`, {
    retryable: true,
  });
}

/** A file-system failure as DISK_FULL (no space or quota left) or WRITE_ERROR (anything else). */
export function fileError(err: unknown, file: string): ModelFetchError {
  if (err instanceof ModelFetchError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return new ModelFetchError('DISK_FULL', `no space left on the volume while writing ${file}`, { retryable: false });
  }
  return new ModelFetchError('WRITE_ERROR', `could not write ${file}: ${e?.message ?? String(err)}`, {
    retryable: true,
  });
}
