import { readFile } from 'node:fs/promises';
import { isModelKind, MODEL_KINDS, type ModelRefInput } from '@model-manager/client';
import { modelRef, REF_FORMS, urlOrSource } from './model-ref.js';
import { UsageError } from './usage.js';

/** `KIND REF [NAME...]`: the name is the rest of the line, spaces and all. */
const LINE = /^(\S+)\s+(\S+)(?:\s+(.+))?$/;

/**
 * A list of references, one model a line: `KIND REF [NAME...]`. Blank lines and lines starting
 * with `#` are skipped; a `#` elsewhere belongs to the name (`Café Noir #2` is one).
 */
export function parseReferenceList(text: string, file: string): ModelRefInput[] {
  const items: ModelRefInput[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${file}:${index + 1}`;
    const match = LINE.exec(line);
    if (!match) throw new UsageError(`${at}: expected KIND REF [NAME], got ${JSON.stringify(line)}`);
    const [, kind, ref, name] = match as unknown as [string, string, string, string | undefined];
    if (!isModelKind(kind))
      throw new UsageError(`${at}: KIND must be one of ${MODEL_KINDS.join(', ')}, not ${JSON.stringify(kind)}`);
    const where = urlOrSource(ref);
    if (!where) throw new UsageError(`${at}: ${JSON.stringify(ref)} is no REF (${REF_FORMS})`);
    items.push(modelRef(kind, where, name));
  });
  if (items.length === 0) throw new UsageError(`${file} lists no models`);
  return items;
}

/** The JSON body of POST /v1/batches, or its list of items. */
function parseJsonList(text: string, file: string): ModelRefInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(items))
    throw new UsageError(
      `${file} must hold a JSON list of models ({kind, url or source, name?, sha256?}) or {"items": [...]}`,
    );
  // Each item's fields are checked by the API, which names every wrong one.
  return items as ModelRefInput[];
}

/** A batch file's text: JSON when it starts with `[` or `{` (no KIND does), else a list of references. */
export function parseBatchFile(text: string, file: string): ModelRefInput[] {
  const body = text.replace(/^\uFEFF/, '');
  return /^\s*[[{]/.test(body) ? parseJsonList(body, file) : parseReferenceList(body, file);
}

export async function readBatchFile(file: string): Promise<ModelRefInput[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseBatchFile(text, file);
}
