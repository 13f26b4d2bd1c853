import { request, type Dispatcher } from 'undici';
import { ModelFetchError, checkSourceUrl } from '@model-manager/core';
import { networkError } from '../download-errors.js';
import type { DownloadRequest } from '../download-request.js';
import { headerReader, type HeaderOf } from './response-headers.js';
import { statusError } from './status-error.js';

const MAX_REDIRECTS = 10;

/** What one request needs of a download's settings. */
export type OriginRequest = Pick<
  DownloadRequest,
  'url' | 'dispatcher' | 'signal' | 'logger' | 'authorization' | 'networkPolicy'
>;

/** A 2xx answer, after redirects, with its body not read yet. */
export interface Opened {
  response: Dispatcher.ResponseData;
  finalUrl: string;
  header: HeaderOf;
  /** The redirect chain left the starting host (or https) on the way: no hop after it gets a token. */
  leftStart: boolean;
}

/** Where a redirect chain ended: a later request of the same download may start there instead. */
export type ChainEnd = Pick<Opened, 'finalUrl' | 'leftStart'>;

/** A byte range `from`-`to` (to the end without `to`), valid only while the file matches `ifRange`. */
export interface ByteRange {
  from: number;
  to?: number;
  ifRange: string;
}

const redirectError = (status: number, what: string) =>
  new ModelFetchError('HTTP_ERROR', `HTTP ${status} redirect ${what}`, { retryable: false, status });

/**
 * GETs the URL, following redirects here so every hop gets its own Authorization (or none) and
 * passes the network policy. `at`: start where an earlier chain of this download ended, skipping
 * the redirects (tokens still go only where that chain would have sent them). A 416 to an
 * open-ended range is asked again without one. Any other status but 2xx throws (see
 * statusError); so do network failures (see networkError).
 */
export async function openResponse(req: OriginRequest, range: ByteRange | undefined, at?: ChainEnd): Promise<Opened> {
  let current = at?.finalUrl ?? req.url;
  // Once a redirect has left the starting host (or dropped from https to http), no later hop
  // gets a token, even one that comes back.
  let leftStart = at?.leftStart ?? false;
  const start = new URL(req.url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'model-manager/0.1', accept: '*/*' };
    const redirected = hop > 0 || current !== req.url;
    if (req.networkPolicy) {
      const refused = checkSourceUrl(current, req.networkPolicy);
      if (refused) {
        throw new ModelFetchError(
          refused.code,
          redirected ? `redirected to a refused source: ${refused.message}` : refused.message,
          { retryable: false },
        );
      }
    }
    const here = new URL(current);
    if (here.host !== start.host || (start.protocol === 'https:' && here.protocol !== 'https:')) leftStart = true;
    const authorization = leftStart ? undefined : req.authorization?.(current, req.url);
    if (authorization) headers.authorization = authorization;
    if (range) {
      headers.range = `bytes=${range.from}-${range.to ?? ''}`;
      headers['if-range'] = range.ifRange;
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await request(current, { method: 'GET', dispatcher: req.dispatcher, signal: req.signal, headers });
    } catch (err) {
      throw networkError(err, req.signal);
    }
    const status = response.statusCode;
    const header = headerReader(response);
    if (status >= 300 && status < 400 && status !== 304) {
      const location = header('location');
      await response.body.dump().catch(() => {});
      if (!location) throw redirectError(status, 'without a Location header');
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw redirectError(status, 'to an unreadable Location');
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw redirectError(status, `to a ${next.protocol} URL`);
      current = next.toString();
      req.logger.debug({ url: current, status }, 'following redirect');
      continue;
    }
    if (status >= 200 && status <= 299) return { response, finalUrl: current, header, leftStart };
    await response.body.dump().catch(() => {});
    if (range && range.to === undefined && status === 416) return openResponse(req, undefined, at);
    throw statusError(status, current, redirected && here.host !== start.host, header('retry-after'));
  }
  throw new ModelFetchError('HTTP_ERROR', `more than ${MAX_REDIRECTS} redirects`, { retryable: false });
}
