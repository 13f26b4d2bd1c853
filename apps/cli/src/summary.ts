import type { BatchItemStatus, ErrorInfo } from '@model-manager/client';
import { formatError, table } from './format.js';

export interface Outcome {
  kind: string;
  name: string;
  status: BatchItemStatus;
  jobId?: string;
  path?: string;
  error?: ErrorInfo;
  verified?: boolean;
  unverifiedReason?: string;
}

const STATUSES = ['cached', 'linked', 'completed', 'queued', 'active', 'failed'] as const;

/** The table printed after a wait, the count line under it, and the models not checked against a known SHA-256. */
export function summarize(outcomes: Outcome[]): string {
  const rows = outcomes.map((o) => [
    o.status === 'failed' ? 'FAILED' : o.status,
    `${o.kind}/${o.name}`,
    o.status === 'failed' ? formatError(o.error) : (o.path ?? (o.jobId ? `job ${o.jobId}` : '')),
  ]);
  const count = (status: BatchItemStatus) => outcomes.filter((o) => o.status === status).length;
  const counts = STATUSES.filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}`);
  const noun = outcomes.length === 1 ? 'model' : 'models';
  const lines = [
    table(['STATUS', 'MODEL', 'PATH OR ERROR'], rows),
    `${outcomes.length} ${noun}: ${counts.join(', ') || 'none'}`,
  ];
  return [...lines, ...unverifiedLines(outcomes)].join('\n');
}

/** `not verified: REASON` for one model, with the model named when there are several. */
export function unverifiedLines(outcomes: Outcome[]): string[] {
  const unverified = outcomes.filter((o) => o.verified === false && o.status !== 'failed');
  return unverified.map((o) => {
    const reason = o.unverifiedReason ?? 'no SHA-256 was known before the download';
    return outcomes.length === 1 ? `not verified: ${reason}` : `not verified: ${o.kind}/${o.name}: ${reason}`;
  });
}
