import { open } from 'node:fs/promises';
import { ModelFetchError } from '@model-manager/core';

/** An HTML page (a login wall, an error page) where a model was expected. */
export function looksLikeHtml(firstBytes: Buffer): boolean {
  const head = firstBytes
    .subarray(0, 512)
    .toString('latin1')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  return head.startsWith('<!doctype') || head.startsWith('<html');
}

export function isHtmlContentType(contentType: string | null): boolean {
  return !!contentType && /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(contentType);
}

/** Headers larger than this are not real safetensors files (the format caps them at 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Structural check of a .safetensors file: 8-byte little-endian header length, a JSON header,
 * and every tensor's data_offsets inside the data section. Catches truncated files and bodies
 * that are not safetensors at all, with or without a hash to compare.
 */
export async function checkSafetensors(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const refuse = (why: string): never => {
      throw new ModelFetchError('NOT_A_MODEL', `not a valid .safetensors file: ${why}`, { retryable: false });
    };
    if (size < 8) refuse(`only ${size} bytes`);
    const lengthBuf = Buffer.alloc(8);
    await fh.read(lengthBuf, 0, 8, 0);
    const headerLength = lengthBuf.readBigUInt64LE(0);
    if (headerLength === 0n || headerLength > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
      refuse(`header length ${headerLength} does not fit a ${size}-byte file`);
    }
    const header = Buffer.alloc(Number(headerLength));
    await fh.read(header, 0, header.length, 8);
    let parsed: unknown;
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch {
      refuse('the header is not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      refuse('the header is not a JSON object');
    const dataBytes = size - 8 - header.length;
    for (const [name, tensor] of Object.entries(parsed as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      const offsets = (tensor as { data_offsets?: unknown })?.data_offsets;
      const [begin, end] = Array.isArray(offsets) && offsets.length === 2 ? (offsets as unknown[]) : [];
      if (
        !Number.isSafeInteger(begin) ||
        !Number.isSafeInteger(end) ||
        (begin as number) < 0 ||
        (begin as number) > (end as number)
      ) {
        refuse(`tensor ${JSON.stringify(name)} has no valid data_offsets`);
      }
      if ((end as number) > dataBytes) {
        refuse(`tensor ${JSON.stringify(name)} ends at byte ${end} of a ${dataBytes}-byte data section (truncated?)`);
      }
    }
  } finally {
    await fh.close();
  }
}
