/**
 * `attachment` with the file name, as storage hosts send it. Header values must be Latin-1, so a
 * name outside printable ASCII gets an ASCII fallback plus the RFC 6266 `filename*` form.
 */
export function attachment(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const header = `attachment; filename="${fallback}"`;
  if (fallback === name) return header;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${header}; filename*=UTF-8''${encoded}`;
}
