import type { BatchItem } from '@model-manager/client';
import { expectShape } from '../args.js';
import { readBatchFile } from '../batch-file.js';
import { print, type Command } from '../context.js';
import { ProgressView } from '../progress.js';
import { summarize } from '../summary.js';

const isRunning = (item: BatchItem) =>
  item.jobId !== undefined && (item.status === 'queued' || item.status === 'active');

/** prefetch FILE [--wait]: FILE is JSON or a list of references (see batch-file.ts). */
export const prefetchCommand: Command = async (ctx) => {
  const { args, client } = ctx;
  expectShape(args, ['wait'], ['FILE']);
  const items = await readBatchFile(args.positionals[0]!);
  const created = await client.prefetch(items);
  const failedAtOnce = created.jobs.some((item) => item.status === 'failed');

  if (!args.values.wait || !created.jobs.some(isRunning)) {
    print(ctx, created, () => `batch ${created.batchId}\n${summarize(created.jobs)}`);
    return failedAtOnce ? 1 : 0;
  }

  const progress = new ProgressView(ctx.stderr);
  for (const item of created.jobs) if (isRunning(item)) progress.add(item.jobId!, `${item.kind}/${item.name}`);
  const view = await client.waitForBatch(created.batchId, {
    onProgress: (p) => progress.update(p),
    onJobSettled: (j) => progress.settle(j),
  });
  progress.finish();
  print(ctx, view, () => `batch ${view.batchId}\n${summarize(view.jobs)}`);
  return view.counts.failed > 0 || view.jobs.some((item) => item.status === 'failed') ? 1 : 0;
};
