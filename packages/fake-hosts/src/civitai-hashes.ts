import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { blake3 } from './blake3.js';
import type { FakeFile } from './fake-file.js';

/** The hashes Civitai lists for a file, upper-case hex as it sends them. */
export interface CivitaiHashes {
  /** The old AUTOMATIC1111 model hash: SHA-256 of 64 KiB at offset 1 MiB, 8 hex digits. */
  AutoV1: string;
  /** The first 10 hex digits of the SHA-256. */
  AutoV2: string;
  SHA256: string;
  CRC32: string;
  BLAKE3: string;
}

// BLAKE3 in JavaScript takes a moment on large files; the same content is hashed once per process.
const known = new Map<string, CivitaiHashes>();

export function civitaiHashes(file: FakeFile): CivitaiHashes {
  const cached = known.get(file.sha256);
  if (cached) return cached;
  const sha256 = file.sha256.toUpperCase();
  const hashes: CivitaiHashes = {
    AutoV1: createHash('sha256').update(file.body.subarray(0x100000, 0x110000)).digest('hex').slice(0, 8).toUpperCase(),
    AutoV2: sha256.slice(0, 10),
    SHA256: sha256,
    CRC32: crc32(file.body).toString(16).padStart(8, '0').toUpperCase(),
    BLAKE3: blake3(file.body).toUpperCase(),
  };
  known.set(file.sha256, hashes);
  return hashes;
}
