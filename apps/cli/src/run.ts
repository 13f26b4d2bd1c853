import { InvalidRequestError, ModelManagerClient, ModelManagerError } from '@model-manager/client';
import { parseCommandLine } from './args.js';
import { fetchCommand } from './commands/fetch.js';
import { gcCommand } from './commands/gc.js';
import { lsCommand } from './commands/ls.js';
import { scanCommand, verifyCommand } from './commands/maintenance.js';
import { pinCommand, unpinCommand } from './commands/pin.js';
import { prefetchCommand } from './commands/prefetch.js';
import { statsCommand } from './commands/stats.js';
import { statusCommand } from './commands/status.js';
import type { Command, Output } from './context.js';
import { USAGE, UsageError } from './usage.js';

const COMMANDS: Record<string, Command> = {
  fetch: fetchCommand,
  prefetch: prefetchCommand,
  status: statusCommand,
  ls: lsCommand,
  stats: statsCommand,
  gc: gcCommand,
  verify: verifyCommand,
  scan: scanCommand,
  pin: pinCommand,
  unpin: unpinCommand,
};

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

export interface RunIo {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
}

/** "items.0.sha256: must be 64 hexadecimal characters" for each field the API named. */
function fieldLines(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((d: { field?: unknown; message?: unknown }) =>
    typeof d?.message === 'string'
      ? [`  ${typeof d.field === 'string' && d.field ? `${d.field}: ` : ''}${d.message}`]
      : [],
  );
}

/** The whole command line; resolves with the exit code: 0 ok, 1 something failed, 2 usage error. */
export async function run(argv: string[], io: RunIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    const args = parseCommandLine(argv);
    json = args.values.json === true;
    if (args.values.help || args.command === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (args.command === undefined) throw new UsageError('no command given');
    const command = COMMANDS[args.command];
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(args.command)}`);
    const apiUrl = args.values['api-url'] ?? (io.env.API_URL || DEFAULT_API_URL);
    if (!/^https?:\/\/[^/]/.test(apiUrl))
      throw new UsageError(`the API URL must start with http:// or https://, not ${JSON.stringify(apiUrl)}`);
    const token = args.values.token ?? (io.env.API_TOKEN || undefined);
    const client = new ModelManagerClient({ baseUrl: apiUrl, token });
    return await command({ client, args, json, stdout: io.stdout, stderr: io.stderr });
  } catch (err) {
    // A wrong argument, or one the API refused (a bad name, URL or hash), is the caller's to fix: exit 2.
    const usage = err instanceof UsageError;
    const invalid = err instanceof InvalidRequestError;
    if (json) {
      const error =
        err instanceof ModelManagerError
          ? {
              code: err.code,
              message: err.message,
              status: err.status,
              ...(err.details === undefined ? {} : { details: err.details }),
            }
          : { code: usage ? 'USAGE' : 'INTERNAL', message: (err as Error).message };
      io.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    }
    if (usage) {
      io.stderr.write(`model-manager: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof ModelManagerError) {
      io.stderr.write(
        `model-manager: ${err.code}: ${err.message}\n${fieldLines(err.details)
          .map((l) => `${l}\n`)
          .join('')}`,
      );
      return invalid ? 2 : 1;
    }
    io.stderr.write(`model-manager: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
