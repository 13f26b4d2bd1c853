import type { SourceEndpoints } from './endpoints.js';
import { downloadUrlOf } from './download-url.js';
import { hfAnswer } from './hf-answer.js';
import { failureReason, MetadataUnavailable, sendToHost, type MetadataClient } from './metadata-request.js';
import { SourceError, type HfRef } from './resolution.js';
import type { MetadataAnswer } from './source-metadata.js';

/** Renamed repositories answer with relative redirects; this many are followed. */
const MAX_RELATIVE_REDIRECTS = 5;

/** Absolute (`https://...`) or protocol-relative (`//host/...`): somewhere else, not followed. */
const leavesHost = (location: string) => /^[a-z][a-z\d+.-]*:/i.test(location) || location.startsWith('//');

/**
 * HEADs the file's resolve URL as huggingface_hub's get_hf_file_metadata does: only relative
 * redirects are followed, and the answer that redirects to storage is read, not followed.
 */
export async function hfMetadata(
  ref: HfRef,
  endpoints: SourceEndpoints,
  client: MetadataClient,
): Promise<MetadataAnswer> {
  const start = downloadUrlOf(ref, endpoints);
  const signal = AbortSignal.timeout(client.timeoutMs);
  try {
    let url = start;
    for (let hop = 0; ; hop++) {
      const head = await sendToHost(client, url, {
        method: 'HEAD',
        // Content-Length of a compressed answer would not be the file's size.
        headers: { 'accept-encoding': 'identity' },
        startedAt: start,
        signal,
      });
      await head.body.dump();
      const location = head.header('location');
      if (head.status >= 300 && head.status < 400 && location && !leavesHost(location)) {
        if (hop >= MAX_RELATIVE_REDIRECTS)
          throw new MetadataUnavailable(`more than ${MAX_RELATIVE_REDIRECTS} redirects`);
        url = new URL(location, url).href;
        continue;
      }
      return hfAnswer(ref, head);
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    return { unavailable: `Hugging Face metadata unavailable: ${failureReason(err, signal, client.timeoutMs)}` };
  }
}
