import type { Job } from 'bullmq';

/**
 * Lines for the job's own log (Bull Board's "Logs" tab), beside the process's pino lines. Not
 * awaited: one Redis client sends them in order, and a lost line must never fail a download.
 * Callers pass URLs through redactUrl: these lines are shown to anyone who opens the dashboard.
 */
export function jobLog(job: Job): (line: string) => void {
  return (line) => void job.log(line).catch(() => {});
}

/** `2132625894` → `1.99 GiB (2132625894 bytes)`: readable, and exact for whoever compares sizes. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(2)} ${units[unit]} (${bytes} bytes)`;
}
