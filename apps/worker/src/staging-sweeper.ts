import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import {
  QUEUE_NAME,
  STAGING_DIR,
  escapeStagingPart,
  type Config,
  type Logger,
  type RedisClient,
} from '@model-manager/core';

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Deletes staging files left behind by jobs that no longer exist (a worker killed for good, a
 * job removed from the dashboard), once they are STAGING_GRACE_SECONDS old. Never at start-up
 * for its own sake: a partial file of a job still queued is exactly what resume needs.
 * Files of other deployments (another QUEUE_PREFIX on the same volume) are left to them.
 */
export class StagingSweeper {
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Queue;
  private readonly ownPrefix: string;
  private running: Promise<number> | undefined;

  constructor(
    private readonly config: Config,
    redis: RedisClient,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue(QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
    this.ownPrefix = `${escapeStagingPart(config.QUEUE_PREFIX)}.`;
  }

  start(): void {
    const everyMs = Math.max(500, Math.min(10 * 60_000, (this.config.STAGING_GRACE_SECONDS * 1000) / 4));
    this.timer = setInterval(() => void this.sweep(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.queue.close().catch(() => {});
  }

  /** One pass; returns how many files it deleted. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce()
      .catch((err: unknown) => {
        this.logger.warn({ err: (err as Error).message }, 'staging sweep failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    const dir = path.join(this.config.modelsDir, STAGING_DIR);
    const cutoff = Date.now() - this.config.STAGING_GRACE_SECONDS * 1000;
    let deleted = 0;
    for (const name of await readdir(dir)) {
      if (!name.startsWith(this.ownPrefix)) continue;
      const file = path.join(dir, name);
      const st = await stat(file).catch(() => null);
      if (!st?.isFile() || st.mtimeMs > cutoff) continue;
      // `<prefix>.<jobId>.part`, its `.part.json`, or a temporary file of ours (`<prefix>.tmp-…`).
      const rest = name.slice(this.ownPrefix.length);
      const jobKey = /^([A-Za-z0-9_%-]+)\.part(?:\.json)?(?:\.[0-9a-f]+)?(?:\.done)?$/.exec(rest)?.[1];
      if (!jobKey && !rest.startsWith('tmp-')) continue; // not a name we make
      const state = jobKey ? await this.queue.getJobState(decodeURIComponent(jobKey)) : 'unknown';
      if (LIVE_STATES.has(state)) continue;
      await rm(file, { force: true });
      deleted += 1;
      this.logger.info(
        { file: name, jobState: state, ageSeconds: Math.round((Date.now() - st.mtimeMs) / 1000) },
        'swept a leftover staging file',
      );
    }
    return deleted;
  }
}
