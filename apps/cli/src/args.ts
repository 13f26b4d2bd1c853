import { parseArgs } from 'node:util';
import { isModelKind, MODEL_KINDS, type ModelKind } from '@model-manager/client';
import { UsageError } from './usage.js';

/** Every option any command takes; which command takes which is checked after parsing. */
const OPTIONS = {
  'api-url': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  wait: { type: 'boolean' },
  sha256: { type: 'string' },
  mirror: { type: 'string', multiple: true },
  kind: { type: 'string' },
  name: { type: 'string' },
  refetch: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'max-age-days': { type: 'string' },
  'keep-popular': { type: 'string' },
  quota: { type: 'boolean' },
} as const;

export type OptionName = keyof typeof OPTIONS;
export const GLOBAL_OPTIONS: OptionName[] = ['api-url', 'token', 'json', 'help'];

const parse = (args: string[]) =>
  parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true, tokens: true });

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  values: ReturnType<typeof parse>['values'];
  /** The option names given, in order, to refuse those a command does not take. */
  given: OptionName[];
}

export function parseCommandLine(argv: string[]): ParsedArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    // parseArgs' own words name the option ("Unknown option '--wiat'").
    throw new UsageError((err as Error).message);
  }
  const given = parsed.tokens.flatMap((t) => (t.kind === 'option' ? [t.name as OptionName] : []));
  const [command, ...positionals] = parsed.positionals;
  return { command, positionals, values: parsed.values, given };
}

/** Refuses options the command does not take, and a wrong number of arguments (`optional` ones may follow). */
export function expectShape(
  args: ParsedArgs,
  options: OptionName[],
  positionals: string[],
  optional: string[] = [],
): void {
  const wrong = args.given.find((name) => !options.includes(name) && !GLOBAL_OPTIONS.includes(name));
  if (wrong) throw new UsageError(`${args.command} does not take --${wrong}`);
  if (args.positionals.length < positionals.length) {
    throw new UsageError(`${args.command}: missing ${positionals.slice(args.positionals.length).join(' ')}`);
  }
  const most = positionals.length + optional.length;
  if (args.positionals.length > most) {
    throw new UsageError(`${args.command}: unexpected argument ${JSON.stringify(args.positionals[most])}`);
  }
}

export function modelKind(value: string, what = 'KIND'): ModelKind {
  if (!isModelKind(value))
    throw new UsageError(`${what} must be one of ${MODEL_KINDS.join(', ')}, not ${JSON.stringify(value)}`);
  return value;
}

/** A number option, or undefined when not given. */
export function numberOption(
  value: string | undefined,
  flag: string,
  options: { integer?: boolean } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (options.integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${flag} must be a ${options.integer ? 'whole number' : 'number'} of 0 or more, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}
