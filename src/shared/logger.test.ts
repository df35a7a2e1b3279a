import { describe, expect, it } from 'vitest';
import { scrubSecrets } from './logger.js';

describe('scrubSecrets', () => {
  it.each([
    [{ key: 'k' }, { key: '[redacted]' }],
    [
      { a: { b: { c: { secretKey: 's', sessionToken: 't' } } } },
      { a: { b: { c: { secretKey: '[redacted]', sessionToken: '[redacted]' } } } },
    ],
    [
      { list: [{ backupKey: 'b' }, { adminToken: 'a' }] },
      { list: [{ backupKey: '[redacted]' }, { adminToken: '[redacted]' }] },
    ],
    [{ query: 'txSecret=abc123&txTime=5C27' }, { query: 'txSecret=[redacted]&txTime=5C27' }],
    [{ url: 'rtmp://h/live/s?TXSECRET=abc' }, { url: 'rtmp://h/live/s?TXSECRET=[redacted]' }],
    [{ key: '' }, { key: '' }],
    [
      { stream: 'keyframe', app: 'live' },
      { stream: 'keyframe', app: 'live' },
    ],
  ])('%j → %j', (input, expected) => {
    expect(scrubSecrets(input)).toEqual(expected);
  });

  it('leaves the object it was given untouched', () => {
    const input = { auth: { key: 'k' } };
    scrubSecrets(input);
    expect(input.auth.key).toBe('k');
  });
});
