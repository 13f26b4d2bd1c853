import type { Request, RequestHandler } from 'express';
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
    throw new ApiError(
      429,
      'RATE_LIMITED',
      `more than ${limit} requests this minute (RATE_LIMIT_PER_MINUTE); try again in ${retryAfter} s`,
      { retryAfterSeconds: retryAfter },
    );
  };
}

/**
 * Failed authentications per client address, RATE_LIMIT_PER_MINUTE of them a minute: the limit
 * above counts per token, so without this a caller guessing tokens (each guess a new "caller")
 * or the dashboard's login form would never be slowed down. Counted only with API_TOKEN set.
 */
export class AuthFailures {
  private readonly keys: ReturnType<typeof serviceKeys>;

  constructor(
    private readonly config: Config,
    private readonly redis: RedisClient,
    private readonly logger: Logger,
  ) {
    this.keys = serviceKeys(config.QUEUE_PREFIX);
  }

  private get limit(): number | undefined {
    return this.config.API_TOKEN ? this.config.RATE_LIMIT_PER_MINUTE : undefined;
  }

  private key(ip: string | undefined): string {
    return this.keys.rate(`auth-failures:${ip ?? 'unknown'}`, Math.floor(Date.now() / 60_000));
  }

  /** Before any token is looked at: an address over its failures for this minute gets 429. */
  gate(): RequestHandler {
    return async (req, res, next) => {
      const limit = this.limit;
      if (!limit || EXEMPT.has(req.path)) return next();
      let failures = 0;
      try {
        failures = Number((await this.redis.get(this.key(req.ip))) ?? 0);
      } catch {
        return next(); // as above: the limiter adds no outage of its own
      }
      if (failures < limit) return next();
      const retryAfter = Math.max(1, Math.ceil((60_000 - (Date.now() % 60_000)) / 1000));
      res.setHeader('retry-after', String(retryAfter));
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `too many failed sign-ins from this address this minute; try again in ${retryAfter} s`,
        { retryAfterSeconds: retryAfter },
      );
    };
  }

  /** Counts one failed authentication of this request's address. */
  readonly record = (req: Request): void => {
    if (!this.limit) return;
    const key = this.key(req.ip);
    void this.redis
      .multi()
      .incr(key)
      .expire(key, 120)
      .exec()
      .catch((err: Error) =>
        this.logger.warn({ err: err.message }, 'failed sign-in not counted: Redis did not answer'),
      );
  };
}
