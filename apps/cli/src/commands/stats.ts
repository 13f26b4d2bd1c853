import { expectShape } from '../args.js';
import { print, type Command } from '../context.js';
import { formatBytes, table } from '../format.js';

/** stats: counts and sizes per kind, the volume's disk usage, cache hits, downloads. */
export const statsCommand: Command = async (ctx) => {
  expectShape(ctx.args, [], []);
  const stats = await ctx.client.stats();
  print(ctx, stats, () => {
    const kinds = (['checkpoints', 'loras', 'embeddings'] as const).map((k) => [
      k,
      String(stats[k].count),
      formatBytes(stats[k].totalSize),
    ]);
    const { diskUsage: disk, cache, downloads } = stats;
    return [
      table(['KIND', 'COUNT', 'SIZE'], kinds),
      '',
      `disk       ${formatBytes(disk.used)} used of ${formatBytes(disk.total)}, ${formatBytes(disk.free)} free`,
      `cache      ${cache.hits} hits, ${cache.misses} misses (${Math.round(cache.hitRate * 100)}% hit rate)`,
      `downloads  ${downloads.succeeded} succeeded, ${downloads.failed} failed, ${formatBytes(downloads.bytes)}`,
    ].join('\n');
  });
  return 0;
};
