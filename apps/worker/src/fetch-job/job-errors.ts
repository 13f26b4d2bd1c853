import { UnrecoverableError } from 'bullmq';
import { ModelFetchError } from '@model-manager/core';
import { fileError } from '../download/download-errors.js';

/** Error thrown to BullMQ for a retryable failure; the backoff strategy reads retryAfterMs. */
export class RetryableJobError extends Error {
  override readonly name = 'RetryableJobError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Exponential backoff with jitter (0.5x-1.5x), never shorter than the origin's Retry-After. */
export function backoffDelay(baseMs: number, attemptsMade: number, err?: Error): number {
  const exponential = baseMs * 2 ** Math.max(0, attemptsMade - 1);
  const jittered = Math.round(exponential * (0.5 + Math.random()));
  const retryAfter = (err as RetryableJobError | undefined)?.retryAfterMs ?? 0;
  return Math.max(jittered, retryAfter);
}

/**
 * The error BullMQ gets: retried (with the origin's Retry-After) or failed at once. Its stack is
 * the reason alone, since the dashboard shows the stack and a worker's call stack tells an
 * operator nothing.
 */
export function jobError(failure: ModelFetchError, retryable: boolean): Error {
  const thrown = retryable
    ? new RetryableJobError(failure.toReason(), failure.retryAfterMs)
    : new UnrecoverableError(failure.toReason());
  thrown.stack = failure.toReason();
  return thrown;
}

/** Any error as a ModelFetchError: file-system errors (a registry write, a rename) get their own codes. */
export function asModelFetchError(err: unknown): ModelFetchError {
  if (err instanceof ModelFetchError) return err;
  const e = err as NodeJS.ErrnoException;
  // A file-system error: the same DISK_FULL / WRITE_ERROR the download itself reports.
  if (e?.code && /^E[A-Z]+$/.test(e.code)) return fileError(err, e.path ?? 'the volume');
  return new ModelFetchError('INTERNAL', e?.message ?? String(err), { retryable: true });
}
