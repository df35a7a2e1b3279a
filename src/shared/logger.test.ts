import { describe, expect, it } from 'vitest';
import { scrubSecrets } from './logger.js';

describe('scrubSecrets', () => {
  it.each([
    [{ callback: { key: 'k' } }, { callback: { key: '[redacted]' } }],
    [
      { auth: { publish: { key: 'k', backupKey: 'b' } } },
      { auth: { publish: { key: '[redacted]', backupKey: '[redacted]' } } },
    ],
    [{ storage: { sse: { key: 'k' } } }, { storage: { sse: { key: '[redacted]' } } }],
    // A stored object's key is not a secret: `file stored` names it.
    [{ key: 'live/s1_2026.mp4' }, { key: 'live/s1_2026.mp4' }],
    [{ url: 'redis://:pw-1@redis:6379' }, { url: 'redis://:[redacted]@redis:6379' }],
    [{ url: 'rediss://user:pw@h:1/0' }, { url: 'rediss://user:[redacted]@h:1/0' }],
    [{ tokens: [{ name: 'ops', token: 't' }] }, { tokens: [{ name: 'ops', token: '[redacted]' }] }],
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
    [{ callback: { key: '' } }, { callback: { key: '' } }],
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
