import path from 'node:path';
import { nameProblem } from '@model-manager/core';
import { SourceError } from './resolution.js';

/** A model's name when the request gives none: the file's name without its last extension. */
export function defaultName(fileName: string): string {
  const ext = path.posix.extname(fileName);
  const name = ext ? fileName.slice(0, -ext.length) : fileName;
  const problem = nameProblem(name);
  if (problem) {
    throw new SourceError(
      'INVALID_REQUEST',
      `name is required: the file name ${JSON.stringify(fileName)} gives no usable model name (it ${problem})`,
      { field: 'name' },
    );
  }
  return name;
}
