import type { Dispatcher } from 'undici';
import {
  PendingCounters,
  metadataLookupField,
  redactUrl,
  type Config,
  type Logger,
  type ModelRequest,
  type NetworkPolicy,
  type RedisClient,
} from '@model-manager/core';
import type { AuthRules } from './auth.js';
import { cacheKeyOf } from './cache-key.js';
import { civitaiMetadata } from './civitai-metadata.js';
import { downloadUrlOf } from './download-url.js';
import type { SourceEndpoints } from './endpoints.js';
import { hfMetadata } from './hf-metadata.js';
import { MetadataCache } from './metadata-cache.js';
import { metadataSetupFromConfig } from './metadata-setup.js';
import { parseSourceReference } from './parse-source-reference.js';
import { plainUrlResolution } from './plain-url-resolution.js';
import { referenceResolution } from './reference-resolution.js';
import { SourceError, type Resolution, type SourceRef } from './resolution.js';
import { SingleFlight } from './single-flight.js';
import type { MetadataAnswer } from './source-metadata.js';
import { sourceOfUrl } from './source-of-url.js';

export interface SourceResolverOptions {
  endpoints: SourceEndpoints;
  auth: AuthRules;
  dispatcher: Dispatcher;
  networkPolicy: NetworkPolicy;
  redis: RedisClient;
  /** QUEUE_PREFIX: the cache keys live under it. */
  prefix: string;
  /** How long a host's answer is cached (0: not cached). */
  cacheSeconds: number;
  timeoutMs: number;
  requireVerified: boolean;
  logger: Logger;
}

/** What the resolver did, for tests and metrics. */
export interface ResolverStats {
  /** Calls made to a host for metadata. */
  metadataCalls: number;
  cacheHits: number;
  /** Calls that gave no usable answer (the download went on unverified). */
  unavailable: number;
}

/**
 * Turns a request (a URL, or a Hugging Face or Civitai reference) into what to download and
 * what is known of the file before its first byte: SHA-256, size and name, from the host's
 * metadata, cached in Redis.
 */
export class SourceResolver {
  readonly stats: ResolverStats = { metadataCalls: 0, cacheHits: 0, unavailable: 0 };
  private readonly cache: MetadataCache;
  private readonly flights = new SingleFlight<MetadataAnswer>();
  private readonly counts: PendingCounters;
  private closeSetup: (() => Promise<void>) | undefined;

  constructor(private readonly options: SourceResolverOptions) {
    this.cache = new MetadataCache(
      options.redis,
      options.prefix,
      options.cacheSeconds,
      options.timeoutMs,
      options.logger,
    );
    this.counts = new PendingCounters(options.redis, options.prefix);
  }

  /** A resolver for a process's configuration; without a dispatcher it gets a public-only pool of its own. */
  static fromConfig(config: Config, redis: RedisClient, logger: Logger, dispatcher?: Dispatcher): SourceResolver {
    const setup = metadataSetupFromConfig(config, dispatcher);
    const resolver = new SourceResolver({
      ...setup.client,
      endpoints: setup.endpoints,
      redis,
      prefix: config.QUEUE_PREFIX,
      cacheSeconds: config.METADATA_CACHE_SECONDS,
      requireVerified: config.REQUIRE_VERIFIED,
      logger,
    });
    resolver.closeSetup = setup.close;
    return resolver;
  }

  /** Throws a SourceError for a request that cannot be fetched as asked. */
  async resolve(request: ModelRequest): Promise<Resolution> {
    const { url, source } = request;
    if ((url === undefined) === (source === undefined)) {
      throw new SourceError('INVALID_REQUEST', 'give url or source (not both)', { field: 'url' });
    }
    const ref = source !== undefined ? parseSourceReference(source) : sourceOfUrl(url!, this.options.endpoints);
    const resolution = ref
      ? referenceResolution(request, ref, await this.metadataOf(ref), this.options.endpoints)
      : plainUrlResolution(request, url!);
    if (this.options.requireVerified && !resolution.verified) {
      throw new SourceError('UNVERIFIED', `REQUIRE_VERIFIED is on and ${resolution.unverifiedReason}`);
    }
    return resolution;
  }

  /** Adds the lookups counted so far to the shared counters (for /metrics). */
  flushCounts(): Promise<void> {
    return this.counts.flush();
  }

  /** Closes the connection pool fromConfig made (a dispatcher given to it is the caller's). */
  async close(): Promise<void> {
    await this.counts.close();
    await this.closeSetup?.();
  }

  private metadataOf(ref: SourceRef): Promise<MetadataAnswer> {
    const key = cacheKeyOf(ref);
    return this.flights.run(key, async () => {
      const cached = await this.cache.get(key);
      if (cached) {
        this.stats.cacheHits++;
        this.counts.add(metadataLookupField(ref.host, 'cached'));
        return { found: cached };
      }
      this.stats.metadataCalls++;
      const { endpoints } = this.options;
      let answer: MetadataAnswer;
      try {
        answer =
          ref.host === 'huggingface'
            ? await hfMetadata(ref, endpoints, this.options)
            : await civitaiMetadata(ref, endpoints, this.options);
      } catch (err) {
        if (err instanceof SourceError) this.counts.add(metadataLookupField(ref.host, 'refused'));
        throw err;
      }
      if ('found' in answer) {
        this.counts.add(metadataLookupField(ref.host, 'fetched'));
        await this.cache.set(key, answer.found);
      } else {
        this.counts.add(metadataLookupField(ref.host, 'unavailable'));
        this.stats.unavailable++;
        this.options.logger.warn(
          { url: redactUrl(downloadUrlOf(ref, endpoints)), reason: answer.unavailable },
          'source metadata unavailable',
        );
      }
      return answer;
    });
  }
}
