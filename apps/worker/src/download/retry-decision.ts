import type { ModelFetchError } from '@model-manager/core';

/** What the decision reads of a failed attempt's error. */
export type AttemptFailure = Pick<ModelFetchError, 'code' | 'retryable' | 'httpKind'>;

/** Where the job stands when its attempt failed. */
export interface AttemptState {
  /** The source this attempt used, in [url, ...mirrors]. */
  sourceIndex: number;
  sourceCount: number;
  /** Sources given up on by earlier attempts. */
  deadSources: readonly number[];
  /** The staging file grew during this attempt (the source delivered bytes). */
  progressed: boolean;
  /** Whether DOWNLOAD_ATTEMPTS allows another attempt after this one. */
  attemptsLeft: boolean;
  /** The worker holds the job's token, so the job can go back to the queue without spending an attempt. */
  canRequeue: boolean;
}

export type RetryDecision =
  /** Another worker owns the job now: touch nothing (its staging file is that worker's); BullMQ retries. */
  | { kind: 'hands-off' }
  /** Cut off by shutdown: back to the queue without spending an attempt; the staging file stays for resume. */
  | { kind: 'requeue' }
  /** Another attempt, on `source`; `fromScratch`: the staged bytes are dropped, else they are resumed. */
  | { kind: 'retry'; source: number; fromScratch: boolean; deadSources: number[] }
  /** The job fails; the staging file goes. */
  | { kind: 'fail'; why: 'not retryable' | 'no source left' | 'attempts used up' };

/**
 * Failures that say this source will not serve the model, whatever the number of tries: it is
 * dropped for the job and another mirror may be tried.
 */
export function isSourceFault(failure: AttemptFailure): boolean {
  if (failure.code === 'HTTP_ERROR') return failure.httpKind === 'NOT_FOUND';
  if (failure.code === 'HASH_MISMATCH') return !failure.retryable;
  return failure.code === 'AUTH_REQUIRED' || failure.code === 'FORBIDDEN' || failure.code === 'NOT_A_MODEL';
}

/**
 * The next attempt after a failure, as docs/failures.md ("When things go wrong") describes it. A
 * source fault kills the source; a retryable failure stays on the source when it made progress
 * (resume it), its redirect target expired (resolve it again) or the file's hash was wrong after
 * a resume (once more from byte 0); otherwise the next live source is tried, wrapping around.
 * A move to another source starts from byte 0.
 */
export function decideRetry(failure: AttemptFailure, state: AttemptState): RetryDecision {
  if (failure.code === 'LOCK_LOST') return { kind: 'hands-off' };
  if (failure.code === 'SHUTDOWN' && state.canRequeue) return { kind: 'requeue' };
  const sourceFault = isSourceFault(failure);
  if (!failure.retryable && !sourceFault) return { kind: 'fail', why: 'not retryable' };
  const dead = new Set(state.deadSources);
  if (sourceFault) dead.add(state.sourceIndex);
  const stay =
    failure.retryable &&
    (state.progressed || failure.httpKind === 'EXPIRED_REDIRECT' || failure.code === 'HASH_MISMATCH');
  const source = stay
    ? state.sourceIndex
    : nextLiveSource(state.sourceCount, state.sourceIndex, dead, failure.retryable);
  if (source === null) return { kind: 'fail', why: 'no source left' };
  if (!state.attemptsLeft) return { kind: 'fail', why: 'attempts used up' };
  const fromScratch = source !== state.sourceIndex || failure.code === 'HASH_MISMATCH';
  return { kind: 'retry', source, fromScratch, deadSources: [...dead].sort((a, b) => a - b) };
}

/** The next source not known to be dead, after `current` and wrapping around; `current` itself only if retryable. */
function nextLiveSource(
  count: number,
  current: number,
  dead: ReadonlySet<number>,
  currentRetryable: boolean,
): number | null {
  for (let step = 1; step <= count; step++) {
    const candidate = (current + step) % count;
    if (candidate === current) return currentRetryable && !dead.has(current) ? current : null;
    if (!dead.has(candidate)) return candidate;
  }
  return null;
}
