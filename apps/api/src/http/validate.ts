import type { z } from 'zod';
import { PICKLE_EXTENSIONS, checkSourceUrl, pickExtension, waitQuerySchema, type Config } from '@model-manager/core';
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
  if (Array.isArray(raw))
    throw new ApiError(400, 'INVALID_REQUEST', 'wait given more than once', [
      { field: 'wait', message: 'given more than once' },
    ]);
  return parseParam(waitQuerySchema, raw, 'wait');
}

/**
 * Refuses sources the settings forbid before anything is queued: 400 HOST_NOT_ALLOWED or
 * PRIVATE_ADDRESS (the network policy), UNSAFE_FORMAT (a pickle file named by its URL while
 * REQUIRE_SAFETENSORS is on), naming each field (`items.2.mirrors.0`). The worker checks again
 * what only the download shows: every redirect hop, DNS answers, Content-Disposition.
 */
export function assertSourcesAllowed(
  refs: ReadonlyArray<{ ref: { url?: string; mirrors?: readonly string[] }; field: string }>,
  config: Pick<Config, 'networkPolicy' | 'REQUIRE_SAFETENSORS'>,
): void {
  const refused: Array<{ field: string; code: string; message: string }> = [];
  for (const { ref, field } of refs) {
    const sources = [
      ...(ref.url === undefined ? [] : [{ url: ref.url, at: 'url' }]),
      ...(ref.mirrors ?? []).map((url, i) => ({ url, at: `mirrors.${i}` })),
    ];
    for (const { url, at } of sources) {
      const where = field ? `${field}.${at}` : at;
      const refusal = checkSourceUrl(url, config.networkPolicy);
      if (refusal) refused.push({ field: where, ...refusal });
      else if (config.REQUIRE_SAFETENSORS) {
        const ext = pickExtension([url]);
        if (PICKLE_EXTENSIONS.includes(ext))
          refused.push({
            field: where,
            code: 'UNSAFE_FORMAT',
            message: `a ${ext} file (pickle: loading it runs code) while REQUIRE_SAFETENSORS is on`,
          });
      }
    }
  }
  const first = refused[0];
  if (!first) return;
  throw new ApiError(
    400,
    first.code,
    `refused source: ${refused
      .slice(0, 3)
      .map((r) => `${r.field}: ${r.message}`)
      .join('; ')}${refused.length > 3 ? '; …' : ''}`,
    refused.map(({ field, message }) => ({ field, message })),
  );
}
