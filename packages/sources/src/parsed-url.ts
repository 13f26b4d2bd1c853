/** `text` as a URL, or null when it is not one (URL.parse arrives only with Node 22). */
export function parsedUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
