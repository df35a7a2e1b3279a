import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

// Keys whose values are secrets wherever they sit in a logged object.
const SECRET_KEYS = new Set([
  'key',
  'secretkey',
  'sessiontoken',
  'admintoken',
  'backupkey',
  'txsecret',
  'sign',
]);
const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

/** A copy of a log object with secrets censored at any depth, and `txSecret=` censored inside strings. */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(/(txSecret=)[^&\s"']*/gi, `$1${CENSOR}`);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.has(k.toLowerCase()) && v !== '' ? CENSOR : scrubSecrets(v, depth + 1);
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

/** A logger that writes nothing, for tests of pure parts. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
