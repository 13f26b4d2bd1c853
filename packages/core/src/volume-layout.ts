import path from 'node:path';

export const MODEL_KINDS = ['checkpoint', 'lora', 'embedding'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** Folder (and registry section) per kind, as the WebUI and the old registry name them. */
export const KIND_DIRS: Record<ModelKind, 'checkpoints' | 'loras' | 'embeddings'> = {
  checkpoint: 'checkpoints',
  lora: 'loras',
  embedding: 'embeddings',
};

export const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth', '.bin'] as const;
/** Formats stored with Python's pickle: loading one can run arbitrary code (REQUIRE_SAFETENSORS refuses them). */
export const PICKLE_EXTENSIONS: readonly string[] = ['.ckpt', '.pt', '.pth', '.bin'];
export const DEFAULT_EXTENSION = '.safetensors';

/** Staging folder: same filesystem as the final folders, so publishing is one rename. */
export const STAGING_DIR = '.incoming';
export const REGISTRY_FILE = 'cache_registry.json';
/** Where verify moves corrupt files: outside the folders the WebUI scans, kept for a person to look at. */
export const QUARANTINE_DIR = '.quarantine';

/** Bytes of UTF-8, so that a name and the longest extension with a staging suffix fit a 255-byte file name. */
export const NAME_MAX_BYTES = 200;
// C0 and C1 control characters and DEL: invisible in listings, and newlines would split log lines.
const CONTROL = /\p{Cc}/u;
// With the u flag a surrogate pair is one code point: only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The registry is JSON objects keyed by name: `__proto__` or `constructor` would name a property
 * every object has, not an entry (written to disk, never found again).
 */
export const RESERVED_NAMES: readonly string[] = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];

/**
 * Why a model name is refused, or null when it is fine. A name is any Unicode text that is safe
 * as one file-name component on the volume (`Hand Detail FLUX & XL`, `水彩画 Watercolor @ Style`):
 * the name is the file name the WebUI shows and the LoRA name in prompts, so it is kept as given.
 */
export function nameProblem(name: string): string | null {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1 || bytes > NAME_MAX_BYTES) return `must be 1-${NAME_MAX_BYTES} bytes in UTF-8 (this one is ${bytes})`;
  if (LONE_SURROGATE.test(name)) return 'must be valid Unicode (it holds a lone surrogate)';
  if (name.includes('/') || name.includes('\\')) return 'must not contain "/" or "\\" (it names one file, not a path)';
  if (CONTROL.test(name)) return 'must not contain control characters (NUL, tab, newline, ...)';
  if (name.startsWith('.')) return 'must not start with "." (hidden files, "." and "..")';
  if (name.endsWith(' ') || name.endsWith('.')) return 'must not end with a space or a dot';
  if (RESERVED_NAMES.includes(name)) return 'is a reserved word (an object property name)';
  return null;
}

export function isModelKind(value: string): value is ModelKind {
  return (MODEL_KINDS as readonly string[]).includes(value);
}

function extensionOf(fileName: string): string | null {
  const ext = path.posix.extname(fileName).toLowerCase();
  return (MODEL_EXTENSIONS as readonly string[]).includes(ext) ? ext : null;
}

/** The file name a Content-Disposition header carries (filename* first, per RFC 6266). */
export function contentDispositionFileName(header: string | null | undefined): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:[\w-]+)?'[^']*'([^;]+)/i.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through to the plain form */
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;]+))/i.exec(header);
  const value = plain?.[1] ?? plain?.[2];
  return value ? value.trim() : null;
}

/**
 * The extension the saved file gets: from Content-Disposition when it names a model
 * extension, else from the URL paths (final after redirects, then the requested one),
 * else `.safetensors`.
 */
export function pickExtension(urls: readonly string[], contentDisposition?: string | null): string {
  const fromHeader = contentDispositionFileName(contentDisposition);
  if (fromHeader) {
    const ext = extensionOf(fromHeader);
    if (ext) return ext;
  }
  for (const url of urls) {
    try {
      const ext = extensionOf(decodeURIComponent(new URL(url).pathname));
      if (ext) return ext;
    } catch {
      /* not a URL we can read: ignore */
    }
  }
  return DEFAULT_EXTENSION;
}

export function kindDir(modelsDir: string, kind: ModelKind): string {
  return path.join(modelsDir, KIND_DIRS[kind]);
}

/** `<MODELS_DIR>/<kind folder>/<name><ext>`; refuses any name the rules above refuse. */
export function modelFilePath(modelsDir: string, kind: ModelKind, name: string, ext: string): string {
  const problem = nameProblem(name);
  if (problem) throw new Error(`invalid model name ${JSON.stringify(name)}: ${problem}`);
  if (!(MODEL_EXTENSIONS as readonly string[]).includes(ext)) throw new Error(`invalid extension ${ext}`);
  return path.join(kindDir(modelsDir, kind), `${name}${ext}`);
}

/** The LoRA name the WebUI knows: the file name without its extension. */
export function fileStem(filePath: string): string {
  const base = path.basename(filePath);
  const ext = path.extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

/** A part of a staging file name: anything but letters, digits, `_` and `-` escaped, so `a.b` and `a%2eb` stay apart. */
export function escapeStagingPart(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A temporary file in the staging folder for placing the same bytes under a new name. Named
 * under the queue prefix, so the staging sweeper of the workers on that prefix removes what a
 * crash leaves behind.
 */
export function sameContentTmpPath(modelsDir: string, prefix: string, random: string): string {
  return path.join(modelsDir, STAGING_DIR, `${escapeStagingPart(prefix)}.tmp-link-${random}`);
}
