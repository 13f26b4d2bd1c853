import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@model-manager/core';
import { EXTEND_IF_OWNER, RELEASE_IF_OWNER } from '@model-manager/registry';

// Take the claim unless another job holds it (answer that holder then). The value is
// `<job>|<attempt token>`: an earlier attempt of the same job (a worker killed or cut off) is
// taken over at once, and only this attempt's own value is ever renewed or released.
const TAKE = `
local holder = redis.call('get', KEYS[1])
if holder and string.sub(holder, 1, #ARGV[3] + 1) ~= ARGV[3] .. '|' then return holder end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

/**
 * Which job is downloading a given SHA-256 onto a volume. BullMQ deduplicates by model name only,
 * so two names for the same bytes (an alias, a checkpoint also used as a LoRA base) would be two
 * downloads on two workers; with the claim, the second job waits for the first and then links
 * its file. The holder is the job (not the worker), so the same job resumed elsewhere after a
 * crash takes it straight back; a claim whose holder died expires with the job lock.
 */
export class ContentClaim {
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private readonly value: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly job: string,
    private readonly ttlMs: number,
  ) {
    this.value = `${job}|${randomBytes(6).toString('hex')}`;
  }

  /** Takes the claim and keeps it alive; resolves with the other holder when another job has it. */
  async take(): Promise<string | undefined> {
    const other = (await this.redis.eval(TAKE, 1, this.key, this.value, String(this.ttlMs), this.job)) as string | null;
    if (other) return other.slice(0, other.lastIndexOf('|'));
    this.held = true;
    this.timer = setInterval(
      () => void this.redis.eval(EXTEND_IF_OWNER, 1, this.key, this.value, String(this.ttlMs)).catch(() => {}),
      Math.floor(this.ttlMs / 3),
    );
    this.timer.unref();
    return undefined;
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    if (!this.held) return;
    this.held = false;
    // A Redis outage here only means the claim lives out its TTL: the waiting job downloads then.
    await this.redis.eval(RELEASE_IF_OWNER, 1, this.key, this.value).catch(() => {});
  }
}
