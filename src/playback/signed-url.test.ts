import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSignature, signedDir, signQuery, signUrl, SIGNED_URL_SKEW_SECONDS } from './signed-url.js';

const KEY = '24FEQmTzro4V5u3D5epW';
const PATH = '/dir1/dir2/myVideo.mp4';
const T = 0x5e577978;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const check = (query: string, now = T - 60, path = PATH) =>
  checkSignature(KEY, path, new URLSearchParams(query), now);

describe('signed playback URLs', () => {
  it.each([
    ['/dir1/dir2/myVideo.mp4', '/dir1/dir2/'],
    ['/play/live/s_1.m3u8', '/play/live/'],
    ['/a.mp4', '/'],
  ])('the Dir of %s is %s', (path, dir) => expect(signedDir(path)).toBe(dir));

  it('signs in Tencent’s order, leaving empty parameters out, with md5(KEY + Dir + t + exper + rlimit + us)', () => {
    expect(signQuery(KEY, PATH, { expiresAt: T, us: '72d4cd1101' })).toBe(
      `t=5e577978&us=72d4cd1101&sign=${md5(`${KEY}/dir1/dir2/5e57797872d4cd1101`)}`,
    );
    expect(signQuery(KEY, PATH, { expiresAt: T, exper: 30, rlimit: 3, us: '72d4cd1101' })).toBe(
      `t=5e577978&exper=30&rlimit=3&us=72d4cd1101&sign=${md5(`${KEY}/dir1/dir2/5e57797830372d4cd1101`)}`,
    );
  });

  it('one signature covers every file of its directory, and no other', () => {
    const query = signQuery(KEY, PATH, { expiresAt: T });
    expect(check(query, T, '/dir1/dir2/other_000001.ts')).toMatchObject({ ok: true });
    expect(check(query, T, '/dir1/other.mp4')).toEqual({ ok: false, reason: 'the signature does not match' });
  });

  it('signUrl replaces the query of an absolute URL and keeps its origin', () => {
    const url = signUrl(KEY, `http://h:8080${PATH}?old=1`, { expiresAt: T, us: 'x' });
    expect(url).toBe(`http://h:8080${PATH}?t=5e577978&us=x&sign=${md5(`${KEY}/dir1/dir2/5e577978x`)}`);
  });

  it.each([
    ['valid, before t', T - 1, true],
    ['at t', T, true],
    ['within the skew', T + SIGNED_URL_SKEW_SECONDS, true],
    ['past the skew', T + SIGNED_URL_SKEW_SECONDS + 1, false],
  ])('%s', (_name, now, ok) => {
    const result = check(signQuery(KEY, PATH, { expiresAt: T, exper: 10 }), now);
    expect(result.ok).toBe(ok);
    if (result.ok) expect(result.exper).toBe(10);
    else expect(result.reason).toBe('the URL has expired');
  });

  it.each([
    ['nothing', '', 'the URL is not signed (t and sign are required)'],
    ['no sign', 't=5e577978', 'the URL is not signed (t and sign are required)'],
    ['t not hex', 't=zz&sign=00', 't must be the expiry in hex seconds'],
    ['exper not a number', 't=5e577978&exper=1.5&sign=00', 'exper must be whole seconds'],
    ['a wrong sign', 't=5e577978&sign=0123', 'the signature does not match'],
  ])('refuses %s', (_name, query, reason) => {
    expect(check(query)).toEqual({ ok: false, reason });
  });

  it('an uppercase sign is the same signature', () => {
    const query = signQuery(KEY, PATH, { expiresAt: T, us: 'u' });
    expect(check(query.replace(/sign=(\w+)/, (_m, s: string) => `sign=${s.toUpperCase()}`)).ok).toBe(true);
  });
});
