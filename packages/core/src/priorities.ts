/**
 * Awaited requests (a handler waiting to generate) run before prefetch batches.
 * BullMQ runs lower priority numbers first.
 */
export const PRIORITY = { awaited: 1, single: 5, batch: 10 } as const;
