import type { RequestHandler } from 'express';
import { serviceKeys, type Config, type Logger, type RedisClient } from '@model-manager/core';
import { ApiError } from './api-error.js';

/** Probes are never limited: an orchestrator must always be able to ask. */
const EXEMPT = new Set(['/healthz', '/readyz']);

/**
 * RATE_LIMIT_PER_MINUTE per caller (a token's digest, or the client address when there are no
 * tokens), counted in Redis so every API process shares one budget: a fixed one-minute window,
 * one INCR per request. Over the limit: 429 RATE_LIMITED with Retry-After until the window ends.
 * If Redis cannot count, the request goes through: the limiter must not add an outage of its own.
 */
export function rateLimit(config: Config, redis: RedisClient, logger: Logger): RequestHandler {
  const limit = config.RATE_LIMIT_PER_MINUTE;
  const keys = serviceKeys(config.QUEUE_PREFIX);
  return async (req, res, next) => {
    if (!limit || EXEMPT.has(req.path)) return next();
    const caller = (res.locals.caller as string | undefined) ?? `ip:${req.ip ?? 'unknown'}`;
    const now = Date.now();
    const window = Math.floor(now / 60_000);
    let count: number;
    try {
      const key = keys.rate(caller, window);
      const results = await redis.multi().incr(key).expire(key, 120).exec();
      count = Number(results?.[0]?.[1] ?? 0);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'rate limit not counted: Redis did not answer');
      return next();
    }
    res.setHeader('ratelimit-limit', String(limit));
    res.setHeader('ratelimit-remaining', String(Math.max(0, limit - count)));
    if (count <= limit) return next();
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
    res.setHeader('retry-after', String(retryAfter));
    throw new ApiError(429, 'RATE_LIMITED', `more than ${limit} requests this minute (RATE_LIMIT_PER_MINUTE); try again in ${retryAfter} s`, { retryAfterSeconds: retryAfter });
  };
}
