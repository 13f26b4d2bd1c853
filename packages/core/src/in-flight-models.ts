import type { Queue } from 'bullmq';
import { modelKey } from './redis-keys.js';

/** Job states in which a fetch may still write its model (queued, backing off or downloading). */
const LIVE_STATES = ['active', 'waiting', 'prioritized', 'delayed', 'waiting-children', 'paused'] as const;

/**
 * The models (`kind/name`) a fetch job is queued for or downloading: removal leaves them alone,
 * since their job is about to (re)write file and entry anyway.
 */
export async function inFlightModels(queue: Queue): Promise<Set<string>> {
  const jobs = await queue.getJobs([...LIVE_STATES]);
  const keys = new Set<string>();
  for (const job of jobs) {
    const data = job?.data as { kind?: unknown; name?: unknown } | undefined;
    if (typeof data?.kind === 'string' && typeof data.name === 'string')
      keys.add(modelKey(data.kind as never, data.name));
  }
  return keys;
}
