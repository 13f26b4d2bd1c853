import type { ModelManagerClient } from '@model-manager/client';
import type { ParsedArgs } from './args.js';

/** Where a command writes: stdout for results, stderr for progress (a TTY gets bars). */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface CommandContext {
  client: ModelManagerClient;
  args: ParsedArgs;
  json: boolean;
  stdout: Output;
  stderr: Output;
}

/** Runs one command; resolves with the exit code. */
export type Command = (ctx: CommandContext) => Promise<number>;

/** Prints a result: the JSON document with --json, else the human text. */
export function print(ctx: CommandContext, document: unknown, human: () => string): void {
  if (ctx.json) ctx.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  else {
    const text = human();
    if (text) ctx.stdout.write(`${text}\n`);
  }
}
