import type { CivitaiFile } from './civitai-version.js';

/** The query parameters of /api/download/models/{id} that pick one of a version's files. */
export interface CivitaiFileQuery {
  type?: string;
  format?: string;
  size?: string;
  fp?: string;
}

const same = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * The file a download URL means. `type` narrows to the files of that type (when there are any);
 * among those the most of format, size and fp that match wins, the primary file on a tie. So no
 * parameters, or parameters that match nothing, give the primary file.
 */
export function chooseFile(files: CivitaiFile[], query: CivitaiFileQuery): CivitaiFile {
  const typed = files.filter((f) => same(f.type, query.type));
  const candidates = typed.length > 0 ? typed : files;
  const score = (f: CivitaiFile) =>
    Number(same(f.format, query.format)) + Number(same(f.size, query.size)) + Number(same(f.fp, query.fp));
  const top = Math.max(...candidates.map(score));
  const best = candidates.filter((f) => score(f) === top);
  return best.find((f) => f.primary) ?? best[0]!;
}
