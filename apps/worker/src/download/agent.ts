import { Agent } from 'undici';

/** One connection pool per worker process, with the configured connect, header and idle timeouts. */
export function createDownloadAgent(options: { connectTimeoutMs: number; idleTimeoutMs: number }): Agent {
  return new Agent({
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.connectTimeoutMs,
    // undici's bodyTimeout is the gap allowed between two body chunks: exactly a stall detector.
    bodyTimeout: options.idleTimeoutMs,
    connections: 64,
  });
}
