import { redactUrl, type ModelRequest } from '@model-manager/core';
import { type Resolution, SourceError, type SourceResolver } from '@model-manager/sources';
import { ApiError } from '../http/api-error.js';
import { sourceApiError } from './source-errors.js';

export interface FieldRequest {
  request: ModelRequest;
  /** Where the request sits in the body (`items.3`, `loras.0`, `` for the body itself). */
  field: string;
}

/**
 * Each request resolved (host metadata asked, or read from the cache). A malformed request fails
 * the whole call (400 naming every bad field); a refusal that only concerns one model (not found,
 * a token needed, a conflicting hash) comes back in that model's place, for the caller to report
 * beside the others.
 */
export async function resolveEach(
  resolver: SourceResolver,
  items: readonly FieldRequest[],
): Promise<Array<Resolution | ApiError>> {
  const settled = await Promise.allSettled(items.map(({ request }) => resolver.resolve(request)));
  const invalid: ApiError[] = [];
  const results = settled.map((result, i): Resolution | ApiError => {
    if (result.status === 'fulfilled') return result.value;
    if (!(result.reason instanceof SourceError)) throw result.reason;
    const error = sourceApiError(result.reason, items[i]!.field);
    if (result.reason.code === 'INVALID_REQUEST') invalid.push(error);
    return error;
  });
  const first = invalid[0];
  if (first) {
    const more = invalid.length > 1 ? ` (and ${invalid.length - 1} more)` : '';
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `${first.message}${more}`,
      invalid.flatMap((e) => e.details as unknown[]),
    );
  }
  return results;
}

/** One request resolved; any refusal is the answer. */
export function resolveOne(resolver: SourceResolver, request: ModelRequest): Promise<Resolution> {
  return resolver.resolve(request).catch((err: unknown) => {
    throw err instanceof SourceError ? sourceApiError(err, '') : err;
  });
}

/** The name a request gave, else what it named the file by (for a model refused before its name was known). */
export function nameAsked(request: { name?: string; source?: string; url?: string }): string {
  return request.name ?? request.source ?? redactUrl(request.url ?? '');
}
