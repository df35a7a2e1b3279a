import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Root logger: JSON lines on stdout. `LOG_LEVEL` overrides the level. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service: 'recorder' },
    // Secrets never reach a log line, even when a whole config or query is logged by mistake.
    redact: {
      paths: [
        '*.key',
        '*.secretKey',
        '*.sessionToken',
        '*.adminToken',
        '*.backupKey',
        'query.txSecret',
        'callback.key',
      ],
      censor: '[redacted]',
    },
    ...options,
  });
}

/** A logger that writes nothing, for tests of pure parts. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
