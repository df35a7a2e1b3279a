import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

// Keys whose values are secrets wherever they sit in a logged object.
const SECRET_KEYS = new Set([
  'secretkey',
  'sessiontoken',
  'admintoken',
  'backupkey',
  'txsecret',
  'sign',
  'password',
  'token',
]);
// `key` is a secret only in these config sections (callback.key, auth.publish.key, storage.sse.key,
// playback.key); elsewhere it names a stored object, which a log line must show.
const SECRET_KEY_PARENTS = new Set(['callback', 'publish', 'sse', 'playback']);
const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

/**
 * A copy of a log object with secrets censored at any depth: known secret names, `key` in the config sections
 * that hold one, `txSecret=` inside strings and the password of a URL (`redis://:pw@host`).
 */
export function scrubSecrets(value: unknown, depth = 0, parent = ''): unknown {
  if (typeof value === 'string') {
    return value
      .replace(/(txSecret=)[^&\s"']*/gi, `$1${CENSOR}`)
      .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s/]+@/gi, `$1${CENSOR}@`);
  }
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1, parent));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const name = k.toLowerCase();
    const secret = SECRET_KEYS.has(name) || (name === 'key' && SECRET_KEY_PARENTS.has(parent.toLowerCase()));
    out[k] = secret && v !== '' ? CENSOR : scrubSecrets(v, depth + 1, k);
  }
  return out;
}

/** Root logger: JSON lines on stdout (or `destination`). `LOG_LEVEL` overrides the level. */
export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service: 'recorder' },
    // Secrets never reach a log line, even when a whole config or query is logged by mistake.
    formatters: { log: (object) => scrubSecrets(object) as Record<string, unknown> },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}

/**
 * The recorder's logger by its `log` config: the level from `log.level`, else `LOG_LEVEL`, else info; JSON lines,
 * or pino-pretty's lines (the default on a terminal). Secrets are censored either way.
 */
export function configuredLogger(log: {
  level?: string | undefined;
  format?: 'json' | 'pretty' | undefined;
}): Logger {
  const format = log.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const level = log.level ?? process.env.LOG_LEVEL ?? 'info';
  if (format === 'json') return createLogger({ level });
  return createLogger({ level }, pretty({ colorize: Boolean(process.stdout.isTTY), sync: true }));
}

/** A logger that writes nothing, for tests of pure parts. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
