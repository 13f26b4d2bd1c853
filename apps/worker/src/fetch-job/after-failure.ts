import { WaitingError, type Job } from 'bullmq';
import type { Logger, ModelFetchError } from '@model-manager/core';
import { decideRetry } from '../download/retry-decision.js';
import type { StagingFile } from '../download/staging/staging-file.js';
import { writeStagingMeta } from '../download/staging/staging-meta.js';
import { formatBytes } from '../job-log.js';
import { RetryableJobError, jobError } from './job-errors.js';

export interface FailedAttempt {
  job: Job;
  /** The job's BullMQ token; without it the job cannot be put back in the queue. */
  token: string | undefined;
  failure: ModelFetchError;
  staging: StagingFile;
  /** [url, ...mirrors] */
  sources: string[];
  sourceIndex: number;
  /** Sources dead before this attempt, from the staging metadata. */
  deadSources: readonly number[];
  /** Bytes staged when the attempt began. */
  sizeBefore: number;
  log: Logger;
  note: (line: string) => void;
  /** Counts the job as failed (once its last attempt failed). */
  countFailure: () => Promise<void>;
}

/**
 * Carries out the retry decision (download/retry-decision.ts) for a failed attempt: the staging
 * file is kept for a resume, reset for another source, or removed; the failure is logged, to the
 * job's log too; and the error BullMQ gets is thrown.
 */
export async function afterFailedAttempt(a: FailedAttempt): Promise<never> {
  const { job, failure, staging, log, note } = a;
  const attempts = job.opts.attempts ?? 1;
  const decision = decideRetry(failure, {
    sourceIndex: a.sourceIndex,
    sourceCount: a.sources.length,
    deadSources: a.deadSources,
    progressed: (await staging.size()) > a.sizeBefore,
    attemptsLeft: job.attemptsMade + 1 < attempts,
    canRequeue: a.token !== undefined,
  });
  if (decision.kind === 'hands-off') {
    log.warn({ code: failure.code }, failure.message);
    note(`stopped: ${failure.toReason()}`);
    throw new RetryableJobError(failure.toReason());
  }
  if (decision.kind === 'requeue') {
    const staged = await staging.size();
    log.warn({ staged }, 'download cut off by shutdown; job returned to the queue');
    note(`cut off by shutdown with ${formatBytes(staged)} staged; back to the queue, to be resumed`);
    await job.moveToWait(a.token);
    throw new WaitingError();
  }
  const final = decision.kind === 'fail';
  if (final) await staging.remove();
  else if (decision.fromScratch) {
    await staging.remove();
    await writeStagingMeta(staging, {
      url: a.sources[decision.source]!,
      sourceIndex: decision.source,
      deadSources: decision.deadSources,
    });
  }
  log[final ? 'error' : 'warn'](
    {
      code: failure.code,
      status: failure.status,
      attempt: job.attemptsMade + 1,
      of: attempts,
      url: a.sources[a.sourceIndex],
      staged: final ? 0 : await staging.size(),
    },
    `download failed: ${failure.message}`,
  );
  note(`attempt ${job.attemptsMade + 1} failed: ${failure.toReason()}${final ? '' : '; will retry'}`);
  if (final) await a.countFailure();
  throw jobError(failure, decision.kind === 'retry' || decision.why === 'attempts used up');
}
