import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SIGN_VALIDITY_SECONDS, signed, tencentSign, verifyTencentSign } from './sign.js';

const KEY = 'c2a3f0b5e1d94e7a';
const T = 1581827000;
// Computed independently of tencentSign.
const EXPECTED = createHash('md5').update(`${KEY}${T}`).digest('hex');

describe('tencentSign', () => {
  it('is lowercase hex md5(key + t)', () => {
    expect(tencentSign(KEY, T)).toBe(EXPECTED);
    expect(tencentSign(KEY, T)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('matches a vector computed outside the code (md5sum)', () => {
    expect(tencentSign(KEY, T)).toBe('292d854ea3753c7d07c28c33830c02b7');
  });
});

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

describe('signed', () => {
  it('adds t = send time + 600 s and its sign, keeping the body', () => {
    const nowMs = 1581826400_999;
    const body = signed({ event_type: 100, stream_id: 's1' }, KEY, nowMs);
    expect(body.t).toBe(1581826400 + SIGN_VALIDITY_SECONDS);
    expect(body.sign).toBe(md5(`${KEY}${body.t}`));
    expect(body.event_type).toBe(100);
    expect(body.stream_id).toBe('s1');
  });
});

describe('verifyTencentSign', () => {
  const body = { sign: EXPECTED, t: T };

  it('accepts the right sign', () => {
    expect(verifyTencentSign(body, KEY)).toBe(true);
  });

  it('rejects a wrong key, a changed t, a wrong or malformed sign', () => {
    expect(verifyTencentSign(body, `${KEY}x`)).toBe(false);
    expect(verifyTencentSign({ sign: EXPECTED, t: T + 1 }, KEY)).toBe(false);
    expect(verifyTencentSign({ sign: EXPECTED.toUpperCase(), t: T }, KEY)).toBe(false);
    expect(verifyTencentSign({ sign: EXPECTED.slice(1), t: T }, KEY)).toBe(false);
    expect(verifyTencentSign({ sign: EXPECTED, t: String(T) }, KEY)).toBe(false);
    expect(verifyTencentSign({ t: T }, KEY)).toBe(false);
    expect(verifyTencentSign({ sign: EXPECTED }, KEY)).toBe(false);
  });

  it('accepts until t and rejects once t has passed', () => {
    expect(verifyTencentSign(body, KEY, T * 1000 - 1)).toBe(true);
    expect(verifyTencentSign(body, KEY, T * 1000 + 999)).toBe(true);
    expect(verifyTencentSign(body, KEY, (T + 1) * 1000)).toBe(false);
  });

  it('verifies what signed() produced', () => {
    const nowMs = Date.now();
    const sent = signed({ a: 1 }, KEY, nowMs);
    expect(verifyTencentSign(sent, KEY, nowMs)).toBe(true);
    expect(verifyTencentSign(sent, KEY, nowMs + (SIGN_VALIDITY_SECONDS + 1) * 1000)).toBe(false);
  });
});
