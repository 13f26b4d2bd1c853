import type { Dispatcher } from 'undici';

/** A response header by lower-case name (the first value of a repeated one), or null. */
export type HeaderOf = (name: string) => string | null;

export function headerReader(response: Dispatcher.ResponseData): HeaderOf {
  return (name) => {
    const v = response.headers[name];
    return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
  };
}

/** The response ends its connection (`Connection: close`). */
export const closes = (header: HeaderOf): boolean => /\bclose\b/i.test(header('connection') ?? '');

/** Content-Length as a number; null when absent or unreadable. */
export function contentLengthOf(header: HeaderOf): number | null {
  const value = header('content-length');
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

/** What can validate a later range request: a strong ETag (weak ones cannot) and Last-Modified. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export function validatorsOf(header: HeaderOf): Validators {
  const etag = header('etag');
  const lastModified = header('last-modified');
  return { ...(etag && !/^W\//.test(etag) ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
}

/** The If-Range value for these validators (the ETag when there is one); undefined for none. */
export const ifRangeOf = (v: Validators): string | undefined => v.etag ?? v.lastModified;
