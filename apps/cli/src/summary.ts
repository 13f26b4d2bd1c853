import type { BatchItemStatus, ErrorInfo } from '@model-manager/client';
import { formatError, table } from './format.js';

export interface Outcome {
  kind: string;
  name: string;
  status: BatchItemStatus;
  jobId?: string;
  path?: string;
  error?: ErrorInfo;
}

/** The table printed after a wait, and the count line under it. */
export function summarize(outcomes: Outcome[]): string {
  const rows = outcomes.map((o) => [
    o.status === 'failed' ? 'FAILED' : o.status,
    `${o.kind}/${o.name}`,
    o.status === 'failed' ? formatError(o.error) : (o.path ?? (o.jobId ? `job ${o.jobId}` : '')),
  ]);
  const count = (status: BatchItemStatus) => outcomes.filter((o) => o.status === status).length;
  const counts = (['cached', 'completed', 'queued', 'active', 'failed'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  const noun = outcomes.length === 1 ? 'model' : 'models';
  return `${table(['STATUS', 'MODEL', 'PATH OR ERROR'], rows)}\n${outcomes.length} ${noun}: ${counts.join(', ') || 'none'}`;
}
