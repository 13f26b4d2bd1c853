import type { Logger } from './logger.js';
import type { RedisClient } from './redis-connection.js';

const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|Stream isn't writeable/;

/**
 * Logs a Redis outage once when it starts and once when it ends. Every client sharing a
 * connection (queues, workers, the events readers) reports each failed reconnect attempt, several
 * a second: without this, a restart of Redis buries the log under identical lines. Errors that
 * are not about the connection are logged as they come, with the component they came from.
 */
export function connectionLog(redis: RedisClient, logger: Logger): (component: string) => (err: Error) => void {
  let down = false;
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('redis connection restored');
  });
  return (component) => (err) => {
    if (CONNECTION_ERROR.test(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`)) {
      if (down) return;
      down = true;
      logger.warn(
        { err: err.message, component },
        'redis connection lost; reconnecting (requests that need Redis answer 503 meanwhile)',
      );
      return;
    }
    logger.error({ err: err.message, component }, `${component} error`);
  };
}
