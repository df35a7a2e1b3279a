/** How often and how many times a callback is attempted. */
export interface RetryPolicy {
  intervalMs: number;
  maxAttempts: number;
}

/** Tencent's policy, "retries every minute, 12 times": the first attempt and 12 retries, a 12-minute window. */
export const TENCENT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  intervalMs: 60_000,
  maxAttempts: 13,
});

/** From the first attempt to the last: every retry waits one interval. */
export function retryWindowMs(policy: RetryPolicy): number {
  return Math.max(0, policy.maxAttempts - 1) * policy.intervalMs;
}

/** A backoff that waits the same time before every retry. */
export function fixedDelay(intervalMs: number): (attemptsMade: number) => number {
  if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new RangeError(`invalid interval: ${intervalMs}`);
  return () => intervalMs;
}

/** Milliseconds to wait before the next attempt after `attemptsMade` attempts; null when none is left. */
export function nextAttemptDelay(policy: RetryPolicy, attemptsMade: number): number | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 0) {
    throw new RangeError(`invalid attempt count: ${attemptsMade}`);
  }
  if (attemptsMade >= policy.maxAttempts) return null;
  // The first attempt goes out at once; only retries wait.
  return attemptsMade === 0 ? 0 : fixedDelay(policy.intervalMs)(attemptsMade);
}

/** A backoff that doubles from baseMs after each failure, capped at maxMs. */
export function exponentialDelay(baseMs: number, maxMs: number): (attemptsMade: number) => number {
  if (!(baseMs > 0) || !(maxMs >= baseMs)) throw new RangeError(`invalid backoff: ${baseMs}..${maxMs}`);
  return (attemptsMade) => Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attemptsMade - 1, 40)));
}
