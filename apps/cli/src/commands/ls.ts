import { expectShape, modelKind } from '../args.js';
import { print, type Command } from '../context.js';
import { formatBytes, formatTime, table } from '../format.js';

/** ls [--kind KIND]: the models on the volume, as a table. */
export const lsCommand: Command = async (ctx) => {
  expectShape(ctx.args, ['kind'], []);
  const kind = ctx.args.values.kind === undefined ? undefined : modelKind(ctx.args.values.kind, '--kind');
  const models = await ctx.client.models({ kind });
  print(ctx, { models }, () => {
    if (models.length === 0) return kind ? `no ${kind} models` : 'no models';
    const rows = models.map((m) => [
      m.kind,
      m.name,
      formatBytes(m.fileSize),
      String(m.usageCount),
      formatTime(m.lastUsed),
      m.pinned ? 'yes' : '',
      m.sha256.slice(0, 12),
      m.path,
    ]);
    const total = models.reduce((n, m) => n + m.fileSize, 0);
    return `${table(['KIND', 'NAME', 'SIZE', 'USES', 'LAST USED (UTC)', 'PINNED', 'SHA256', 'PATH'], rows)}\n${models.length} models, ${formatBytes(total)}`;
  });
  return 0;
};
