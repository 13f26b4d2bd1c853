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

/** A model-fetch failure. `retryable` says whether another attempt could succeed. */
export class ModelFetchError extends Error {
  override readonly name = 'ModelFetchError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }

  /** The form stored as the job's failedReason (and shown in Bull Board): `CODE: message`. */
  toReason(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Reads back `CODE: message` from a job's failedReason. */
export function parseFailedReason(reason: string | undefined | null): ErrorInfo {
  const text = reason ?? 'unknown failure';
  const match = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(text);
  if (!match) return { code: 'INTERNAL', message: text };
  const [, code = 'INTERNAL', message = ''] = match;
  const status = code === 'HTTP_ERROR' ? Number(/\b(\d{3})\b/.exec(message)?.[1]) || undefined : undefined;
  return status ? { code, message, status } : { code, message };
}
