import { ModelFetchError } from '@model-manager/core';

/**
 * The file's SHA-256, compared with the requested one. When some bytes came from an earlier
 * attempt, those kept bytes could be what is wrong: a mismatch then gets one fresh download.
 */
export function verifyHash(sha256: string, expected: string | undefined, resumed: boolean): string {
  if (expected && sha256 !== expected.toLowerCase()) {
    throw new ModelFetchError(
      'HASH_MISMATCH',
      `sha256 is ${sha256}, expected ${expected.toLowerCase()}${resumed ? ' (partly from an earlier attempt; trying once more from scratch)' : ''}`,
      { retryable: resumed },
    );
  }
  return sha256;
}
