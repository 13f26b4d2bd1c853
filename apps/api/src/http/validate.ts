import type { z } from 'zod';
import { waitQuerySchema } from '@model-manager/core';
import { ApiError, invalidRequest } from './api-error.js';

/** Parses a request body with a zod schema or throws a 400 that names the fields. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'INVALID_REQUEST', 'request body must be a JSON object (Content-Type: application/json)', [
      { field: 'body', message: 'must be a JSON object' },
    ]);
  }
  const result = schema.safeParse(body);
  if (!result.success) throw invalidRequest('', result.error);
  return result.data;
}

export function parseParam<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(field, result.error);
  return result.data;
}

/** `?wait=` in seconds, 0-3600. */
export function parseWait(query: Record<string, unknown>, fallback: number): number {
  const raw = query.wait;
  if (raw === undefined || raw === '') return fallback;
  if (Array.isArray(raw)) throw new ApiError(400, 'INVALID_REQUEST', 'wait given more than once', [{ field: 'wait', message: 'given more than once' }]);
  return parseParam(waitQuerySchema, raw, 'wait');
}
