import { readFile } from 'node:fs/promises';
import type { BatchItem, ModelRefInput } from '@model-manager/client';
import { expectShape } from '../args.js';
import { print, type Command } from '../context.js';
import { ProgressView } from '../progress.js';
import { summarize } from '../summary.js';
import { UsageError } from '../usage.js';

/** A batch file: a JSON list of ModelRef, or `{ "items": [...] }` (the body of POST /v1/batches). */
async function readBatchFile(file: string): Promise<ModelRefInput[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(items))
    throw new UsageError(`${file} must hold a JSON list of models ({kind, name, url, sha256?}) or {"items": [...]}`);
  // Each item's fields are checked by the API, which names every wrong one.
  return items as ModelRefInput[];
}

const isRunning = (item: BatchItem) =>
  item.jobId !== undefined && (item.status === 'queued' || item.status === 'active');

/** prefetch FILE.json [--wait] */
export const prefetchCommand: Command = async (ctx) => {
  const { args, client } = ctx;
  expectShape(args, ['wait'], ['FILE.json']);
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
