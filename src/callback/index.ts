import type { CallbackConfig } from '../config/schema.js';
import type { Logger } from '../shared/logger.js';
import type { OutboxOptions } from './outbox.js';

export * from './events.js';
export * from './outbox.js';
export * from './sign.js';

/** Outbox options from the `callback` config section; durations there are in seconds. */
export function outboxOptionsFromConfig(config: CallbackConfig, dir: string, logger: Logger): OutboxOptions {
  return {
    dir,
    key: config.key,
    intervalMs: config.retryIntervalSeconds * 1000,
    maxAttempts: config.maxAttempts,
    timeoutMs: config.timeoutSeconds * 1000,
    logger,
  };
}
