import type { ErrorInfo, JobView } from './types.js';

/**
 * Any error the API answered (`{ error: { code, message, details? } }`), or no answer at all
 * (`code` UNREACHABLE, `status` 0). `name` is stable, so callers may test it instead of `instanceof`
 * across bundles.
 */
export class ModelManagerError extends Error {
  override readonly name: string = 'ModelManagerError';
  constructor(
    message: string,
    readonly code: string,
    /** The HTTP status; 0 when the API could not be reached. */
    readonly status: number,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 400 INVALID_REQUEST (its `details` name each field) and 413 PAYLOAD_TOO_LARGE. */
export class InvalidRequestError extends ModelManagerError {
  override readonly name = 'InvalidRequestError';
}

/** 404: NOT_FOUND, LEASE_NOT_FOUND, SOURCE_NOT_FOUND (SourceNotFoundError). */
export class NotFoundError extends ModelManagerError {
  override readonly name: string = 'NotFoundError';
  /** The API has no such route at all (an older server), as opposed to no such job, model or lease. */
  get unknownRoute(): boolean {
    return this.code === 'NOT_FOUND' && /^no route for /.test(this.message);
  }
}

/** 409: CONFLICT (another source under the same name is being fetched), FETCH_IN_PROGRESS, HASH_CONFLICT. */
export class ConflictError extends ModelManagerError {
  override readonly name: string = 'ConflictError';
}

/** 404 SOURCE_NOT_FOUND: Hugging Face or Civitai does not know the repository, file or version. */
export class SourceNotFoundError extends NotFoundError {
  override readonly name = 'SourceNotFoundError';
}

/** 409 HASH_CONFLICT: the sha256 given is not the one the host publishes (`details.given`, `details.host`). */
export class HashConflictError extends ConflictError {
  override readonly name = 'HashConflictError';
}

/**
 * 422 AUTH_REQUIRED: the host wants a token the service lacks (its HF_TOKEN or CIVITAI_TOKEN), not
 * the caller's API token; the service's operator has to fix it. (A download job that met a 401
 * fails with the same code, as a JobFailedError.)
 */
export class AuthRequiredError extends ModelManagerError {
  override readonly name = 'AuthRequiredError';
}

/** 422 UNVERIFIED: the service requires a SHA-256 known before the download and none is (give `sha256`). */
export class UnverifiedError extends ModelManagerError {
  override readonly name = 'UnverifiedError';
}

/** 503 (REDIS_UNAVAILABLE, NOT_READY) or no answer at all (UNREACHABLE): worth trying again later. */
export class UnavailableError extends ModelManagerError {
  override readonly name = 'UnavailableError';
}

/** A download job failed: `code` is the job's error code (HASH_MISMATCH, HTTP_ERROR, ...). */
export class JobFailedError extends ModelManagerError {
  override readonly name = 'JobFailedError';
  constructor(
    readonly jobId: string,
    readonly error: ErrorInfo,
    /** The job as the API last showed it, when known. */
    readonly job?: JobView,
  ) {
    super(`job ${jobId} failed: ${error.code}: ${error.message}`, error.code, 502, error);
  }

  static fromJob(job: JobView): JobFailedError {
    return new JobFailedError(
      job.jobId,
      job.error ?? { code: 'INTERNAL', message: 'the job failed without a reason' },
      job,
    );
  }
}

/** waitFor() ran out of time; the jobs go on. */
export class WaitTimeoutError extends ModelManagerError {
  override readonly name = 'WaitTimeoutError';
  constructor(
    readonly jobIds: string[],
    timeoutMs: number,
  ) {
    super(`not finished within ${timeoutMs} ms: ${jobIds.join(', ')}`, 'WAIT_TIMEOUT', 0);
  }
}

/** Codes with a class of their own, whatever the status. */
const BY_CODE = new Map<string, typeof ModelManagerError>([
  ['SOURCE_NOT_FOUND', SourceNotFoundError],
  ['HASH_CONFLICT', HashConflictError],
  ['AUTH_REQUIRED', AuthRequiredError],
  ['UNVERIFIED', UnverifiedError],
]);

/** The error class for an error answer, by code or else by status; `body` is the parsed answer, if it was JSON. */
export function errorFromAnswer(status: number, body: unknown, fallbackText: string): ModelManagerError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}: ${fallbackText.slice(0, 200)}`;
  const details = error?.details;
  // Refusals of a source reference have their own classes; 422 would otherwise read as a bad request.
  const byCode = BY_CODE.get(code);
  if (byCode) return new byCode(message, code, status, details);
  if (status === 400 || status === 413 || status === 422)
    return new InvalidRequestError(message, code, status, details);
  if (status === 404) return new NotFoundError(message, code, status, details);
  if (status === 409) return new ConflictError(message, code, status, details);
  if (status === 502 || status === 503 || status === 504) return new UnavailableError(message, code, status, details);
  return new ModelManagerError(message, code, status, details);
}
