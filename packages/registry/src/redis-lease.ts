import type { RedisClient } from '@model-manager/core';
import { randomBytes } from 'node:crypto';

/** Raised when the lease could not be had within the wait time (another holder is stuck or Redis is down). */
export class LeaseTimeoutError extends Error {
  override readonly name = 'LeaseTimeoutError';
  readonly code = 'LEASE_TIMEOUT';
}

/** Raised when a holder finds it no longer owns the lease (it expired under it). */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  readonly code = 'LEASE_LOST';
}

/** Owner-only scripts shared by every Redis lease of the project: KEYS[1] the key, ARGV[1] the owner's value. */
export const EXTEND_IF_OWNER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
export const RELEASE_IF_OWNER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface LeaseOptions {
  /** How long the lease lives without renewal; a crashed holder frees it after this. */
  ttlMs?: number;
  /** How long to wait for a busy lease before giving up. */
  waitMs?: number;
}

/**
 * A mutual-exclusion lease in Redis (SET NX PX with a random token), renewed while held.
 * Every API and worker process already shares Redis; file locks are unreliable on network volumes.
 */
export class RedisLease {
  private readonly ttlMs: number;
  private readonly waitMs: number;

  constructor(
    private readonly redis: RedisClient,
    /** The key, or a function that finds it on first use. */
    private readonly keyOf: string | (() => Promise<string>),
    options: LeaseOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 15_000;
    this.waitMs = options.waitMs ?? 60_000;
  }

  private key = '';

  async withLease<T>(fn: (held: { assertHeld: () => Promise<void> }) => Promise<T>): Promise<T> {
    if (!this.key) this.key = typeof this.keyOf === 'string' ? this.keyOf : await this.keyOf();
    const token = randomBytes(16).toString('hex');
    await this.acquire(token);
    let lost = false;
    const renew = setInterval(
      () => {
        this.redis.eval(EXTEND_IF_OWNER, 1, this.key, token, String(this.ttlMs)).then(
          (ok) => {
            if (ok !== 1) lost = true;
          },
          () => {
            /* transient: the next tick retries, and assertHeld checks for real */
          },
        );
      },
      Math.max(50, Math.floor(this.ttlMs / 3)),
    );
    renew.unref();
    const assertHeld = async () => {
      if (lost || (await this.redis.get(this.key)) !== token) {
        lost = true;
        throw new LeaseLostError(`lease ${this.key} was lost before the write`);
      }
    };
    try {
      return await fn({ assertHeld });
    } finally {
      clearInterval(renew);
      await this.redis.eval(RELEASE_IF_OWNER, 1, this.key, token).catch(() => {});
    }
  }

  private async acquire(token: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    let delay = 2;
    for (;;) {
      const ok = await this.redis.set(this.key, token, 'PX', this.ttlMs, 'NX');
      if (ok === 'OK') return;
      if (Date.now() >= deadline)
        throw new LeaseTimeoutError(`could not take lease ${this.key} within ${this.waitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 50);
    }
  }
}
