import type { KnownBeforehand, ModelRef } from '@model-manager/core';

/** The parameters of a Civitai download URL that pick one of a version's files. */
export interface CivitaiFileParams {
  type?: string;
  format?: string;
  size?: string;
  fp?: string;
}

/** Which file a request means, as far as it can be told without asking the host. */
export type SourceRef =
  | { host: 'huggingface'; repo: string; path: string; revision: string }
  | { host: 'civitai'; versionId: number; modelId?: number; params: CivitaiFileParams };

export type HfRef = Extract<SourceRef, { host: 'huggingface' }>;
export type CivitaiRef = Extract<SourceRef, { host: 'civitai' }>;

/** A request made concrete: what to download, and what is known of the file before the first byte. */
/** What is known of the file before its first byte (`expectedSize`, `source`, `unverifiedReason`): what its job carries. */
export interface Resolution extends KnownBeforehand {
  /** Name defaulted to the file's stem; url is where to download (a reference's endpoint URL). */
  ref: ModelRef;
  /** True when a SHA-256 (the caller's or the host's) is known before the download: `ref.sha256` is set. */
  verified: boolean;
}

/** UNVERIFIED: REQUIRE_VERIFIED is on and no SHA-256 is known before the download. */
export type SourceErrorCode = 'INVALID_REQUEST' | 'AUTH_REQUIRED' | 'SOURCE_NOT_FOUND' | 'HASH_CONFLICT' | 'UNVERIFIED';

/** A request the host's metadata (or the reference itself) shows cannot be fetched as asked. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(
    readonly code: SourceErrorCode,
    message: string,
    /** Extra facts for the answer's `details` (the field at fault, both hashes of a conflict). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
