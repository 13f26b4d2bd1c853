import { request, type Dispatcher } from 'undici';
import { checkSourceUrl, type NetworkPolicy } from '@model-manager/core';
import { authorizationFor, type AuthRules } from './auth.js';

/** What every metadata call needs: how to connect, which token goes where, and how long to wait. */
export interface MetadataClient {
  dispatcher: Dispatcher;
  auth: AuthRules;
  networkPolicy: NetworkPolicy;
  timeoutMs: number;
}

/** A metadata call that gave no usable answer: not the request's fault, the download goes on. */
export class MetadataUnavailable extends Error {
  override readonly name = 'MetadataUnavailable';
}

export interface HostResponse {
  status: number;
  header: (name: string) => string | undefined;
  /** Whether an Authorization header went with the request. */
  authorized: boolean;
  body: Dispatcher.ResponseData['body'];
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Why a request failed, in words for the unverified reason. */
export function failureReason(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (err instanceof MetadataUnavailable) return err.message;
  if (signal.aborted) return `timed out after ${timeoutMs} ms`;
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code ?? '';
  if (TIMEOUT_CODES.has(code)) return `timed out (${code})`;
  return `${e?.message ?? String(err)}${code ? ` (${code})` : ''}`;
}

/**
 * One request to a source host, redirects not followed: the URL must pass the network policy,
 * and carries the token its host gets (as a hop of a request that started at `startedAt`).
 */
export async function sendToHost(
  client: MetadataClient,
  url: string,
  options: { method: 'GET' | 'HEAD'; headers: Record<string, string>; startedAt: string; signal: AbortSignal },
): Promise<HostResponse> {
  const refusal = checkSourceUrl(url, client.networkPolicy);
  if (refusal) throw new MetadataUnavailable(`${refusal.code}: ${refusal.message}`);
  const authorization = authorizationFor(url, client.auth, options.startedAt);
  const response = await request(url, {
    method: options.method,
    headers: {
      'user-agent': 'model-manager/0.1',
      ...options.headers,
      ...(authorization ? { authorization } : {}),
    },
    dispatcher: client.dispatcher,
    signal: options.signal,
  });
  return {
    status: response.statusCode,
    header: (name) => {
      const value = response.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    authorized: authorization !== undefined,
    body: response.body,
  };
}
