export interface SseEvent {
  event: string;
  data: any;
}

export interface SseStreamResult {
  status: number;
  contentType: string | null;
  events: SseEvent[];
  /** Comment lines (`: keep-alive`). */
  comments: string[];
  /** JSON body when the server answered without opening a stream (404 and the like). */
  body?: any;
}

/**
 * Reads a Server-Sent Events answer over real HTTP until the server ends it (or `signal` fires),
 * calling `onEvent` as each event arrives.
 */
export async function readSse(
  url: string,
  options: { signal?: AbortSignal; onEvent?: (e: SseEvent) => void } = {},
): Promise<SseStreamResult> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: options.signal });
  const contentType = res.headers.get('content-type');
  const result: SseStreamResult = { status: res.status, contentType, events: [], comments: [] };
  if (!contentType?.startsWith('text/event-stream')) {
    result.body = await res.json();
    return result;
  }
  const decoder = new TextDecoder();
  let buffer = '';
  const take = (block: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) result.comments.push(line.slice(1).trim());
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) return;
    const parsed = { event, data: JSON.parse(data.join('\n')) };
    result.events.push(parsed);
    options.onEvent?.(parsed);
  };
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        take(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (err) {
    if (!options.signal?.aborted) throw err;
  }
  return result;
}
