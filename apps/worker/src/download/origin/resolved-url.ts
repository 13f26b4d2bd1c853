import { ModelFetchError, redactUrl } from '@model-manager/core';
import { openResponse, type ByteRange, type ChainEnd, type Opened, type OriginRequest } from './open-response.js';

/** What a storage host answers once a signed URL expired. */
const EXPIRED_STATUS = new Set([403, 410]);
/** Ends of chains other requests followed that one request tries before it follows its own. */
const SHARED_ROUNDS = 2;

/**
 * Where the requests of one download start: the end of the redirect chain its first request
 * followed, so each piece goes straight to the storage host instead of round-tripping through
 * the API host that signs the URL. Only a 403 or 410 from there (a signed URL that expired)
 * sends a request back to the download's URL; that request follows one new chain, and its end
 * is where the requests after it start. Requests made while the chain is followed wait for its
 * end, so a download follows one chain at a time, not one per piece.
 */
export class ResolvedUrl {
  private end: ChainEnd | undefined;
  private following: Promise<void> | undefined;

  /** `first`: a response of this download, whose chain's end the later requests use; else the first request follows it. */
  constructor(
    private readonly req: OriginRequest,
    first?: ChainEnd,
  ) {
    this.end = first && { finalUrl: first.finalUrl, leftStart: first.leftStart };
  }

  /** GETs `range`, from the chain's end when known. Throws as openResponse does. */
  async open(range: ByteRange): Promise<Opened> {
    for (let round = 1; ; round++) {
      while (this.following) await this.following;
      const at = this.end;
      if (!at) return this.follow(range);
      try {
        return await openResponse(this.req, range, at);
      } catch (err) {
        if (at.finalUrl === this.req.url || !expired(err)) throw err;
      }
      // Another request may have followed a new chain meanwhile: use its end rather than follow
      // one more, up to a point (each signed URL may expire as fast as it is handed out).
      if (round < SHARED_ROUNDS && (this.end !== at || this.following)) continue;
      while (this.following) await this.following;
      this.req.logger.info(
        { url: redactUrl(at.finalUrl) },
        'the resolved URL stopped answering (expired?); resolving it again',
      );
      return this.follow(range);
    }
  }

  /** Asks the download's URL for `range`, following its redirects; the chain's end is kept for the requests after it. */
  private follow(range: ByteRange): Promise<Opened> {
    const opening = openResponse(this.req, range);
    const following: Promise<void> = opening
      .then(
        (opened) => {
          this.end = { finalUrl: opened.finalUrl, leftStart: opened.leftStart };
        },
        () => {},
      )
      .finally(() => {
        if (this.following === following) this.following = undefined;
      });
    this.following = following;
    return opening;
  }
}

const expired = (err: unknown): boolean =>
  err instanceof ModelFetchError && err.status !== undefined && EXPIRED_STATUS.has(err.status);
