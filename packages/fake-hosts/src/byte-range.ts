export type ByteRange = { start: number; end: number } | 'unsatisfiable';

/**
 * The single range a `Range: bytes=...` header asks for, as [start, end) within `size`. Absent,
 * malformed and multi-range headers give undefined: the whole body is sent, as RFC 9110 allows.
 */
export function byteRange(header: string | undefined, size: number): ByteRange | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  return { start, end };
}
