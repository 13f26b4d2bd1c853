import { z } from 'zod';

/**
 * The one description of cache_registry.json. Other writers (people, scripts, other tools) put
 * numbers in strings and dates in ISO form; both are read as the numbers they mean. Fields and
 * top-level keys it does not know pass through untouched.
 */

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** ISO 8601 date or date-time; without a zone it is taken as UTC, so every host reads it alike. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

function isoToSeconds(text: string): number {
  const match = ISO_DATE.exec(text);
  if (!match) return Number.NaN;
  const hasTime = text.length > 10;
  const zoned = !hasTime || match[1] !== undefined ? text : `${text}Z`;
  return Date.parse(zoned.replace(' ', 'T').replace(',', '.')) / 1000;
}

/** A number, or a string holding one. */
const numberLike = z.union([z.number(), z.string().trim().regex(NUMERIC, 'not a number').transform(Number)]);

/** Unix seconds: a number, a string holding one, or an ISO 8601 date. */
export const unixSecondsSchema = z
  .union([z.number(), z.string().trim()])
  .transform((value) => (typeof value === 'number' ? value : NUMERIC.test(value) ? Number(value) : isoToSeconds(value)))
  .pipe(z.number({ error: 'neither Unix seconds nor an ISO 8601 date' }).finite().nonnegative());

const count = numberLike.pipe(z.number().finite().nonnegative());
/** Absent and JSON null both mean "not recorded". */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

export const registryEntrySchema = z
  .looseObject({
    url: optional(z.string()),
    path: z.string().min(1),
    hash: optional(z.string()),
    downloaded_at: optional(unixSecondsSchema),
    last_used: optional(unixSecondsSchema),
    usage_count: optional(count),
    file_size: count.pipe(z.number().int()),
  })
  // Every field of the format is present afterwards, as the Python module expects of an entry.
  .transform((e) => ({
    ...e,
    url: e.url ?? '',
    hash: e.hash ?? '',
    downloaded_at: e.downloaded_at ?? 0,
    last_used: e.last_used ?? e.downloaded_at ?? 0,
    usage_count: e.usage_count ?? 0,
  }));

/** One model in cache_registry.json (snake_case, Unix seconds), with any further fields kept. */
export type RegistryEntry = z.output<typeof registryEntrySchema> & { [extra: string]: unknown };

/** An entry the schema refused: kept as written, reported, and treated as absent. */
export interface UnreadableEntry {
  name: string;
  raw: unknown;
  reason: string;
}

const section = z.record(z.string(), z.unknown(), { error: 'is not an object' }).transform((raw) => {
  const entries: Record<string, RegistryEntry> = {};
  const unreadable: UnreadableEntry[] = [];
  for (const [name, value] of Object.entries(raw)) {
    const parsed = registryEntrySchema.safeParse(value);
    if (parsed.success) entries[name] = parsed.data;
    else unreadable.push({ name, raw: value, reason: describeIssues(parsed.error) });
  }
  return { entries, unreadable };
});

export const registryFileSchema = z.looseObject({
  checkpoints: section.prefault({}),
  loras: section.prefault({}),
  embeddings: section.prefault({}),
  last_updated: unixSecondsSchema.catch(0).prefault(0),
});

/** "file_size: not a number; path: expected string" */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
