import { describe, expect, it } from 'vitest';
import { fixedDelay, nextAttemptDelay, TENCENT_RETRY_POLICY } from './backoff.js';

describe('fixedDelay', () => {
  it('waits the same time before every retry', () => {
    const delay = fixedDelay(250);
    expect([1, 2, 10].map(delay)).toEqual([250, 250, 250]);
  });

  it('refuses a negative interval', () => {
    expect(() => fixedDelay(-1)).toThrow(RangeError);
  });
});

describe('nextAttemptDelay', () => {
  const policy = { intervalMs: 50, maxAttempts: 3 };

  it.each([
    [0, 0],
    [1, 50],
    [2, 50],
    [3, null],
    [4, null],
  ])('after %s attempts waits %s', (made, expected) => {
    expect(nextAttemptDelay(policy, made)).toBe(expected);
  });

  it("follows Tencent's policy: the first attempt, then 12 retries every 60 s", () => {
    const delays = Array.from({ length: 14 }, (_, made) => nextAttemptDelay(TENCENT_RETRY_POLICY, made));
    expect(delays).toEqual([0, ...Array<number>(12).fill(60_000), null]);
  });

  it('refuses a negative or fractional attempt count', () => {
    expect(() => nextAttemptDelay(policy, -1)).toThrow(RangeError);
    expect(() => nextAttemptDelay(policy, 1.5)).toThrow(RangeError);
  });
});
