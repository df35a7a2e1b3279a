import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkPushAuth, parseTxTime, txSecretFor, txTimeFor, type PushAuthResult } from './tx-secret.js';

const KEY = 'primary-key-123';
const BACKUP = 'backup-key-456';
const STREAM = 'stream1001';
// 0x5C271099 = 1546064025 = 2018-12-29T06:13:45Z, the compat doc's example txTime.
const TX_HEX = '5C271099';
const EXPIRY = 1546064025;
const BEFORE_MS = (EXPIRY - 60) * 1000;
const AFTER_MS = (EXPIRY + 1) * 1000;

// Computed independently of txSecretFor.
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const query = (secret: string, time: string, extra = '') => `txSecret=${secret}&txTime=${time}${extra}`;

interface Case {
  name: string;
  query: string;
  keys?: readonly string[];
  nowMs?: number;
  streamName?: string;
  expected: PushAuthResult['ok'] | 'no-signature' | 'expired' | 'mismatch';
}

const cases: Case[] = [
  { name: 'valid', query: query(md5(KEY + STREAM + TX_HEX), TX_HEX), expected: true },
  {
    name: 'valid up to and including the expiry second',
    query: query(md5(KEY + STREAM + TX_HEX), TX_HEX),
    nowMs: EXPIRY * 1000 + 999,
    expected: true,
  },
  {
    name: 'expired',
    query: query(md5(KEY + STREAM + TX_HEX), TX_HEX),
    nowMs: AFTER_MS,
    expected: 'expired',
  },
  { name: 'wrong key', query: query(md5('other-key' + STREAM + TX_HEX), TX_HEX), expected: 'mismatch' },
  {
    name: 'another stream name',
    query: query(md5(KEY + 'stream1002' + TX_HEX), TX_HEX),
    expected: 'mismatch',
  },
  {
    name: 'txTime altered after signing',
    query: query(md5(KEY + STREAM + TX_HEX), '5C2710FF'),
    expected: 'mismatch',
  },
  { name: 'backup key', query: query(md5(BACKUP + STREAM + TX_HEX), TX_HEX), expected: true },
  {
    name: 'backup key alone, primary empty',
    query: query(md5(BACKUP + STREAM + TX_HEX), TX_HEX),
    keys: ['', BACKUP],
    expected: true,
  },
  { name: 'upper-case hex', query: query(md5(KEY + STREAM + '5C271099'), '5C271099'), expected: true },
  { name: 'lower-case hex', query: query(md5(KEY + STREAM + '5c271099'), '5c271099'), expected: true },
  {
    name: 'lower-case txTime signed as upper-case',
    query: query(md5(KEY + STREAM + '5C271099'), '5c271099'),
    expected: 'mismatch',
  },
  {
    name: 'decimal',
    query: query(md5(KEY + STREAM + String(EXPIRY)), String(EXPIRY)),
    expected: true,
  },
  {
    name: 'decimal, expired',
    query: query(md5(KEY + STREAM + String(EXPIRY)), String(EXPIRY)),
    nowMs: AFTER_MS,
    expected: 'expired',
  },
  { name: 'missing txSecret', query: `txTime=${TX_HEX}`, expected: 'no-signature' },
  { name: 'missing txTime', query: `txSecret=${md5(KEY + STREAM + TX_HEX)}`, expected: 'no-signature' },
  { name: 'empty txSecret', query: `txSecret=&txTime=${TX_HEX}`, expected: 'no-signature' },
  { name: 'no query at all', query: '', expected: 'no-signature' },
  {
    name: 'txTime neither hex nor decimal',
    query: query(md5(KEY + STREAM + '0x5C27'), '0x5C27'),
    expected: 'no-signature',
  },
  {
    name: 'md5 in upper case',
    query: query(md5(KEY + STREAM + TX_HEX).toUpperCase(), TX_HEX),
    expected: true,
  },
  { name: 'txSecret not 32 hex digits', query: query('abc', TX_HEX), expected: 'mismatch' },
  {
    name: 'both keys empty',
    query: query(md5(STREAM + TX_HEX), TX_HEX),
    keys: ['', ''],
    expected: 'mismatch',
  },
  {
    name: 'leading ? and other parameters around it',
    query: `?userid=MQ==&${query(md5(KEY + STREAM + TX_HEX), TX_HEX)}&userdefinerecordid=abc`,
    expected: true,
  },
];

describe('checkPushAuth', () => {
  it.each(cases)('$name', (c) => {
    const result = checkPushAuth({
      streamName: c.streamName ?? STREAM,
      query: c.query,
      keys: c.keys ?? [KEY, BACKUP],
      nowMs: c.nowMs ?? BEFORE_MS,
    });
    if (c.expected === true) {
      expect(result).toEqual({ ok: true });
    } else {
      expect(result).toMatchObject({ ok: false, reason: c.expected });
    }
  });

  it('never puts the txSecret into the detail', () => {
    const secret = md5('other-key' + STREAM + TX_HEX);
    for (const nowMs of [BEFORE_MS, AFTER_MS]) {
      const result = checkPushAuth({ streamName: STREAM, query: query(secret, TX_HEX), keys: [KEY], nowMs });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.detail).not.toContain(secret);
    }
  });
});

describe('txSecretFor', () => {
  it('matches a vector computed outside the code (md5sum)', () => {
    // echo -n "primary-key-123stream10015C271099" | md5sum
    expect(txSecretFor(KEY, STREAM, TX_HEX)).toBe('30c16c6999466a37440a742452c29b65');
    expect(txSecretFor(KEY, STREAM, '5c271099')).toBe('f1e5cb9126aa87ec8c4965a73a887d31');
  });
});

describe('txTime', () => {
  it.each([
    ['5C271099', EXPIRY],
    ['5c271099', EXPIRY],
    ['12345678', 0x12345678],
    ['ff', 255],
    [String(EXPIRY), EXPIRY],
    ['4102444800', 4102444800],
    ['0x5C271099', undefined],
    ['5C27109G', undefined],
    ['', undefined],
    ['-1546064025', undefined],
    ['1234567890123', undefined],
  ])('%s is %s', (text, seconds) => {
    expect(parseTxTime(text)).toBe(seconds);
  });

  it('txTimeFor writes 8 upper-case hex digits that parse back', () => {
    expect(txTimeFor(EXPIRY)).toBe(TX_HEX);
    expect(txTimeFor(EXPIRY + 0.9)).toBe(TX_HEX);
    expect(txTimeFor(255)).toBe('000000FF');
    expect(parseTxTime(txTimeFor(EXPIRY))).toBe(EXPIRY);
  });
});
