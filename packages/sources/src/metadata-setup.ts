import type { Dispatcher } from 'undici';
import type { Config } from '@model-manager/core';
import { createDownloadAgent } from './agent.js';
import { authRulesFromConfig } from './auth.js';
import { endpointsFromConfig, type SourceEndpoints } from './endpoints.js';
import type { MetadataClient } from './metadata-request.js';

/** Where a process asks its hosts for metadata, and how. */
export interface MetadataSetup {
  endpoints: SourceEndpoints;
  client: MetadataClient;
  /** Closes the pool made here; a dispatcher given is the caller's. */
  close(): Promise<void>;
}

/**
 * The endpoints, tokens, network policy and METADATA_TIMEOUT_MS of a configuration; without a
 * dispatcher, a pool of its own that connects to public addresses only (unless ALLOW_PRIVATE_NETWORKS).
 */
export function metadataSetupFromConfig(config: Config, dispatcher?: Dispatcher): MetadataSetup {
  const own = dispatcher
    ? undefined
    : createDownloadAgent({
        connectTimeoutMs: config.METADATA_TIMEOUT_MS,
        idleTimeoutMs: config.METADATA_TIMEOUT_MS,
        allowPrivateNetworks: config.ALLOW_PRIVATE_NETWORKS,
      });
  return {
    endpoints: endpointsFromConfig(config),
    client: {
      dispatcher: dispatcher ?? own!,
      auth: authRulesFromConfig(config),
      networkPolicy: config.networkPolicy,
      timeoutMs: config.METADATA_TIMEOUT_MS,
    },
    close: async () => {
      await own?.close();
    },
  };
}
