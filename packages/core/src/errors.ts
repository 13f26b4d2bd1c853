/** Stable error codes a job or an API answer carries. */
export const ERROR_CODES = [
  'HTTP_ERROR',
  'NETWORK_ERROR',
  'TIMEOUT',
  'HASH_MISMATCH',
  'SIZE_MISMATCH',
  'EMPTY_FILE',
  'DISK_FULL',
  'WRITE_ERROR',
  'AUTH_REQUIRED',
  'SOURCE_NOT_FOUND',
  'UNVERIFIED',
  'FORBIDDEN',
  'NOT_A_MODEL',
  'HOST_NOT_ALLOWED',
  'TOO_LARGE',
  'UNSAFE_FORMAT',
  'PRIVATE_ADDRESS',
  'LOCK_LOST',
  'STALLED',
  'INVALID_JOB',
  'SHUTDOWN',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorInfo {
  code: string;
  message: string;
  status?: number;
}

/**
 * What an HTTP_ERROR means for the job, beyond its status. The public code stays HTTP_ERROR
 * (with `status`); the processor reads the sub-kind to choose the next source.
 *   NOT_FOUND         404 or 410: this source does not have the file; another mirror may.
 *   EXPIRED_REDIRECT  403 from a host a redirect led to (a signed URL that expired): the same
 *                     source, asked again, resolves a fresh URL.
 */
export const HTTP_ERROR_KINDS = ['NOT_FOUND', 'EXPIRED_REDIRECT'] as const;
export type HttpErrorKind = (typeof HTTP_ERROR_KINDS)[number];

export interface ModelFetchErrorOptions {
  /** Whether another attempt could succeed. */
  retryable: boolean;
  /** The origin's HTTP status, for HTTP_ERROR, AUTH_REQUIRED and FORBIDDEN. */
  status?: number;
  /** The origin asked to wait this long (Retry-After) before the next attempt. */
  retryAfterMs?: number;
  /** Only with HTTP_ERROR: see HTTP_ERROR_KINDS. */
  httpKind?: HttpErrorKind;
}

/** A model-fetch failure: a stable code, a message for people, and what another attempt could do. */
export class ModelFetchError extends Error {
  override readonly name = 'ModelFetchError';
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly httpKind?: HttpErrorKind;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: ModelFetchErrorOptions,
  ) {
    super(message);
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.httpKind = options.httpKind;
  }

  /** The form stored as the job's failedReason (and shown in Bull Board): `CODE: message`. */
  toReason(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Reads back `CODE: message` from a job's failedReason. */
export function parseFailedReason(reason: string | undefined | null): ErrorInfo {
  const text = reason ?? 'unknown failure';
  if (/stalled more than allowable limit/.test(text)) {
    return {
      code: 'STALLED',
      message:
        'the workers running this job died or hung repeatedly (killed pods, out of memory?); fetch it again to retry',
    };
  }
  const match = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(text);
  if (!match) return { code: 'INTERNAL', message: text };
  const [, code = 'INTERNAL', message = ''] = match;
  const status = /^(HTTP_ERROR|AUTH_REQUIRED|FORBIDDEN)$/.test(code)
    ? Number(/\bHTTP (\d{3})\b/.exec(message)?.[1]) || undefined
    : undefined;
  return status ? { code, message, status } : { code, message };
}
