import { expect } from 'vitest';
import type { SourceError } from '../../src/index.js';

/** The SourceError a promise rejects with; the test fails if it resolves. */
export const rejection = (p: Promise<unknown>): Promise<SourceError> =>
  p.then(
    () => expect.fail('resolved'),
    (err: SourceError) => err,
  );

/** The SourceError `f` throws. */
export function thrown(f: () => unknown): SourceError {
  try {
    f();
  } catch (err) {
    return err as SourceError;
  }
  throw new Error('did not throw');
}
