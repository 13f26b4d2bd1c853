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

export interface ModelFetchErrorOptions {
  /** The origin asked to wait this long (Retry-After) before the next attempt. */
  retryAfterMs?: number;
  /** 404 or 410: this source does not have the file, another mirror may. */
  notFound?: boolean;
  /** 403 from a host a redirect led to: retry the same source, which resolves a fresh URL. */
  expiredRedirect?: boolean;
}

/** A model-fetch failure. `retryable` says whether another attempt could succeed. */
export class ModelFetchError extends Error {
  override readonly name = 'ModelFetchError';
  readonly retryAfterMs?: number;
  readonly notFound: boolean;
  readonly expiredRedirect: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options: ModelFetchErrorOptions = {},
  ) {
    super(message);
    this.retryAfterMs = options.retryAfterMs;
    this.notFound = options.notFound ?? false;
    this.expiredRedirect = options.expiredRedirect ?? false;
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
    return { code: 'STALLED', message: 'the workers running this job died or hung repeatedly (killed pods, out of memory?); fetch it again to retry' };
  }
  const match = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(text);
  if (!match) return { code: 'INTERNAL', message: text };
  const [, code = 'INTERNAL', message = ''] = match;
  const status = /^(HTTP_ERROR|AUTH_REQUIRED|FORBIDDEN)$/.test(code) ? Number(/\bHTTP (\d{3})\b/.exec(message)?.[1]) || undefined : undefined;
  return status ? { code, message, status } : { code, message };
}
