import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';

/** An error answer: `{ error: { code, message, details? } }` with an HTTP status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  toBody() {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} not found`);

/** A 400 naming each offending field, e.g. `items.3.sha256: must be 64 hexadecimal characters`. */
export function invalidRequest(where: string, error: z.ZodError): ApiError {
  const details = error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
  const summary = details
    .slice(0, 5)
    .map((d) => `${d.field || where}: ${d.message}`)
    .join('; ');
  return new ApiError(400, 'INVALID_REQUEST', `invalid request: ${summary}${details.length > 5 ? '; …' : ''}`, details);
}

/**
 * A request that carries a body the JSON parser did not take (no or another Content-Type) is
 * refused, never read as an empty object: `POST /v1/cleanup` with `{"dryRun":true}` sent as
 * form data must not become a real cleanup.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && req.body === undefined) {
    next(
      new ApiError(400, 'INVALID_REQUEST', 'the request body must be JSON sent with Content-Type: application/json', [
        { field: 'body', message: `Content-Type is ${req.get('content-type') ?? 'missing'}, not application/json` },
      ]),
    );
    return;
  }
  next();
};

export const unknownRoute: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

const REDIS_DOWN = /Connection is closed|ECONNREFUSED|MaxRetriesPerRequest|Stream isn't writeable|enableOfflineQueue/;

/** Every error leaves as the same JSON shape; body-parser and Redis failures get their own codes. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let apiError: ApiError;
  if (err instanceof ApiError) apiError = err;
  else if (err?.type === 'entity.parse.failed') {
    apiError = new ApiError(400, 'INVALID_REQUEST', `malformed JSON body: ${err.message}`, [
      { field: 'body', message: 'is not valid JSON' },
    ]);
  } else if (err?.type === 'entity.too.large') {
    apiError = new ApiError(413, 'PAYLOAD_TOO_LARGE', 'request body is larger than 1 MiB', [
      { field: 'body', message: 'larger than 1 MiB' },
    ]);
  } else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
    apiError = new ApiError(err.status, 'INVALID_REQUEST', err.message ?? 'bad request');
  } else if (err?.name === 'VolumeError') {
    // The volume itself is not safe to change (a folder leads outside it, or cannot be written):
    // say which folder and why, for the operator; the request itself was fine.
    apiError = new ApiError(500, err.code ?? 'VOLUME_UNWRITABLE', err.message);
  } else if (REDIS_DOWN.test(`${err?.name} ${err?.message}`)) {
    apiError = new ApiError(503, 'REDIS_UNAVAILABLE', 'the queue (Redis) is not answering; try again shortly');
  } else {
    apiError = new ApiError(500, 'INTERNAL', 'internal error');
  }
  // An outage is logged once by connectionLog; each request it fails is a warning, not a stack.
  if (apiError.code === 'REDIS_UNAVAILABLE')
    req.log?.warn({ err: (err as Error)?.message }, 'request failed: redis unavailable');
  else if (apiError.status >= 500) req.log?.error({ err }, 'request failed');
  if (!res.headersSent) res.status(apiError.status).json(apiError.toBody());
};
