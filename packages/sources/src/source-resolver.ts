import type { Config, Logger, ModelRequest, RedisClient } from '@model-manager/core';
import { type Resolution, SourceError } from './resolution.js';

/** Placeholder until references are resolved: plain URLs only. */
export class SourceResolver {
  static fromConfig(_config: Config, _redis: RedisClient, _logger: Logger): SourceResolver {
    return new SourceResolver();
  }

  async close(): Promise<void> {}

  async resolve(request: ModelRequest): Promise<Resolution> {
    if (!request.url || request.source) throw new SourceError('INVALID_REQUEST', 'give url', { field: 'url' });
    if (!request.name) throw new SourceError('INVALID_REQUEST', 'name is required', { field: 'name' });
    const { kind, name, url, sha256, mirrors } = request;
    return {
      ref: { kind, name, url, ...(sha256 ? { sha256 } : {}), ...(mirrors ? { mirrors } : {}) },
      verified: sha256 !== undefined,
    };
  }
}
