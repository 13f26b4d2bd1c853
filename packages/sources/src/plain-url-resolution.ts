import path from 'node:path';
import type { ModelRequest } from '@model-manager/core';
import { defaultName } from './default-name.js';
import { SourceError, type Resolution } from './resolution.js';

/** The file name a URL's path ends in, percent-decoded, when it has an extension. */
function fileNameOf(url: string): string | undefined {
  try {
    const last = new URL(url).pathname.split('/').at(-1) ?? '';
    const name = decodeURIComponent(last);
    return path.posix.extname(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** A URL that names no Hugging Face or Civitai file: fetched as it is, verified only by the caller's hash. */
export function plainUrlResolution(request: ModelRequest, url: string): Resolution {
  let name = request.name;
  if (name === undefined) {
    const fileName = fileNameOf(url);
    if (!fileName) {
      throw new SourceError(
        'INVALID_REQUEST',
        'name is required: the URL does not end in a file name with an extension',
        {
          field: 'name',
        },
      );
    }
    name = defaultName(fileName);
  }
  const { kind, sha256, mirrors } = request;
  return {
    ref: { kind, name, url, ...(sha256 ? { sha256 } : {}), ...(mirrors ? { mirrors } : {}) },
    verified: sha256 !== undefined,
    ...(sha256
      ? {}
      : {
          // Short: it is repeated in every batch item and job of a large prefetch.
          unverifiedReason: 'no sha256 given',
        }),
  };
}
