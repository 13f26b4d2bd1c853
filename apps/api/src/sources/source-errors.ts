import type { SourceError } from '@model-manager/sources';
import { ApiError } from '../http/api-error.js';

/** The HTTP status of each refusal a host's metadata (or the reference itself) leads to. */
const STATUS: Record<string, number> = {
  INVALID_REQUEST: 400,
  // The service's own token for the host is missing or lacks access: not the caller's API token (401).
  AUTH_REQUIRED: 422,
  SOURCE_NOT_FOUND: 404,
  HASH_CONFLICT: 409,
  UNVERIFIED: 422,
};

/** A SourceError as the API answers it, its field named from the request body's root (`items.3.source`). */
export function sourceApiError(err: SourceError, at: string): ApiError {
  const own = typeof err.details.field === 'string' ? err.details.field : undefined;
  const field = [at, own].filter(Boolean).join('.') || undefined;
  if (err.code === 'INVALID_REQUEST') {
    return new ApiError(400, 'INVALID_REQUEST', `invalid request: ${field ? `${field}: ` : ''}${err.message}`, [
      { field: field ?? 'body', message: err.message },
    ]);
  }
  return new ApiError(STATUS[err.code] ?? 400, err.code, err.message, { ...err.details, ...(field ? { field } : {}) });
}
