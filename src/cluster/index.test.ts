import { describe, expect, it } from 'vitest';
import { advertisedHost } from './index.js';

describe('advertisedHost', () => {
  it.each([
    ['10.0.0.5:1935', '10.0.0.5'],
    ['10.0.0.5', '10.0.0.5'],
    ['rec-1.example:1935', 'rec-1.example'],
    ['[::1]:1935', '::1'],
    ['[fd00::5]', 'fd00::5'],
    ['fd00::5', 'fd00::5'],
  ])('%s → %s', (advertise, host) => {
    expect(advertisedHost(advertise)).toBe(host);
  });
});
