import type { CleanupRequest } from '@model-manager/client';
import { expectShape, numberOption } from '../args.js';
import { print, type Command } from '../context.js';
import { describeCleanup } from './maintenance.js';

/** gc [--dry-run] [--max-age-days N] [--keep-popular N] [--quota]: POST /v1/cleanup. */
export const gcCommand: Command = async (ctx) => {
  const { values } = ctx.args;
  expectShape(ctx.args, ['dry-run', 'max-age-days', 'keep-popular', 'quota'], []);
  const request: CleanupRequest = {};
  const maxAgeDays = numberOption(values['max-age-days'], 'max-age-days');
  const keepPopular = numberOption(values['keep-popular'], 'keep-popular', { integer: true });
  if (maxAgeDays !== undefined) request.maxAgeDays = maxAgeDays;
  if (keepPopular !== undefined) request.keepPopular = keepPopular;
  if (values['dry-run']) request.dryRun = true;
  // Only sent when asked: an API from before quota eviction refuses the field.
  if (values.quota) request.quota = true;
  const result = await ctx.client.cleanup(request);
  const outcome = describeCleanup(result);
  print(ctx, result, () => outcome.text);
  return outcome.problems ? 1 : 0;
};
