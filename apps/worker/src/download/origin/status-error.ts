import { ModelFetchError, redactUrl } from '@model-manager/core';
import { parseRetryAfter } from './retry-after.js';

/** Statuses another attempt may get past. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * The failure for a status that is neither a success nor a redirect. `redirectedAway`: the
 * answer came from another host than the one asked, after a redirect.
 */
export function statusError(
  status: number,
  url: string,
  redirectedAway: boolean,
  retryAfter: string | null,
): ModelFetchError {
  const where = redactUrl(url);
  if (status === 401) {
    return new ModelFetchError(
      'AUTH_REQUIRED',
      `HTTP 401 from ${where}: the origin wants a token (set CIVITAI_TOKEN, HF_TOKEN or AUTH_HEADERS for this host)`,
      { retryable: false, status },
    );
  }
  if (status === 403 && redirectedAway) {
    // Typically a signed storage URL that expired: the next attempt resolves it again from the original URL.
    return new ModelFetchError('HTTP_ERROR', `HTTP 403 from redirect target ${where} (expired signed URL?)`, {
      retryable: true,
      status,
      httpKind: 'EXPIRED_REDIRECT',
    });
  }
  if (status === 403) {
    return new ModelFetchError(
      'FORBIDDEN',
      `HTTP 403 from ${where}: access denied (token lacks access, or a gated model not accepted?)`,
      {
        retryable: false,
        status,
      },
    );
  }
  if (status === 404 || status === 410) {
    return new ModelFetchError('HTTP_ERROR', `HTTP ${status} from ${where}`, {
      retryable: false,
      status,
      httpKind: 'NOT_FOUND',
    });
  }
  const retryAfterMs = parseRetryAfter(retryAfter);
  const wait = retryAfterMs !== undefined ? ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)` : '';
  return new ModelFetchError('HTTP_ERROR', `HTTP ${status} from ${where}${wait}`, {
    retryable: RETRYABLE_STATUS.has(status),
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}
