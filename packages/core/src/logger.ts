import { destination, pino, type Logger, type LoggerOptions } from 'pino';
import { redactUrl } from './redact.js';

export type { Logger };

/** pino JSON logs; any `url` field is passed through redactUrl so tokens never reach a log. */
export function createLogger(options: { level: string; name: string }): Logger {
  const opts: LoggerOptions = {
    level: options.level,
    base: { pid: process.pid, service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      log(object) {
        for (const key of ['url', 'finalUrl']) {
          const value = object[key];
          if (typeof value === 'string') object[key] = redactUrl(value);
        }
        return object;
      },
    },
  };
  // Asynchronous writes: a synchronous write per log line costs the API's hot path a syscall
  // per request. Call flushLogger() before exiting so nothing is lost.
  return pino(opts, destination({ dest: 1, sync: false }));
}

/**
 * Writes out what the logger still holds (call before process.exit). Gives up after a second: a
 * write to a pipe whose reader is gone never calls back, and must not keep a stopping process alive.
 */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, 1000).unref();
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** Ends the process once `closing` settles: 0 after a clean stop, 1 after an error, logs written out first. */
export function exitWhenClosed(logger: Logger, closing: Promise<unknown>, stoppedMessage: string): void {
  closing.then(
    async () => {
      logger.info(stoppedMessage);
      await flushLogger(logger);
      process.exit(0);
    },
    async (err: unknown) => {
      logger.error({ err }, 'error while stopping');
      await flushLogger(logger);
      process.exit(1);
    },
  );
}
