import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '@model-manager/core';

declare module 'express-serve-static-core' {
  interface Request {
    log: Logger;
    id: string;
  }
}

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A request id per request (kept from X-Request-Id when sane), a child logger, one log line per answer. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    req.id = given && SAFE_ID.test(given) ? given : randomUUID();
    // A child logger only for the requests that log more than their access line (most do not).
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', { get: () => (child ??= logger.child({ reqId: req.id })), configurable: true });
    res.setHeader('x-request-id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The path only: query strings are not logged.
      logger.info(
        {
          reqId: req.id,
          method: req.method,
          path: req.originalUrl.split('?')[0],
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
        },
        'request',
      );
    });
    next();
  };
}

/** An AbortSignal that fires when the client goes away, so long waits stop early. */
export function clientGone(_req: import('express').Request, res: import('express').Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
