/** One dispatched Server-Sent Event. `event` is "message" when the server named none. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/**
 * Reads a `text/event-stream` body as the HTML standard says: lines end in CRLF, LF or CR; a line
 * starting with ":" is a comment (keep-alive); `data` lines join with "\n"; a blank line dispatches.
 * Chunks may split lines and even CRLF pairs anywhere, so only whole lines are handled.
 */
export async function* readEventStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder('utf-8'); // strips a leading BOM, as the standard asks
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let retry: number | undefined;
  // A CR at the end of one chunk may be the first half of a CRLF split across chunks.
  let skipLeadingLf = false;

  const takeLine = (line: string): ServerSentEvent | undefined => {
    if (line === '') {
      const dispatched =
        data.length > 0
          ? {
              event: event || 'message',
              data: data.join('\n'),
              ...(id === undefined ? {} : { id }),
              ...(retry === undefined ? {} : { retry }),
            }
          : undefined;
      event = '';
      data = [];
      retry = undefined;
      return dispatched;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    return undefined;
  };

  const drain = function* (final: boolean): Generator<ServerSentEvent> {
    for (;;) {
      if (skipLeadingLf && buffer.length > 0) {
        if (buffer[0] === '\n') buffer = buffer.slice(1);
        skipLeadingLf = false;
      }
      const end = buffer.search(/[\r\n]/);
      if (end === -1) break;
      const line = buffer.slice(0, end);
      if (buffer[end] === '\r') {
        if (end + 1 < buffer.length) buffer = buffer.slice(end + (buffer[end + 1] === '\n' ? 2 : 1));
        else {
          buffer = '';
          skipLeadingLf = true;
        }
      } else buffer = buffer.slice(end + 1);
      const dispatched = takeLine(line);
      if (dispatched) yield dispatched;
    }
    // The standard drops an event the stream ends in the middle of.
    if (final) buffer = '';
  };

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    yield* drain(false);
  }
  buffer += decoder.decode();
  yield* drain(true);
}
