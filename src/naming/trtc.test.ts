import { describe, expect, it } from 'vitest';
import { decodeTrtcUserId, isTrtcUserId, trtcStreamId } from './trtc.js';

describe('trtcStreamId', () => {
  it.each([
    [1400188366, 1234, 'user_a', 'main', '1400188366_1234_user_a_main'],
    [1400188366, '1234', 'user-b', 'aux', '1400188366_1234_user-b_aux'],
    [1400188366, 0, 'A'.repeat(32), 'main', `1400188366_0_${'A'.repeat(32)}_main`],
    // A string roomId may hold characters that urlencode escapes.
    [1400188366, 'room 1#a', 'u1', 'main', '1400188366_room%201%23a_u1_main'],
  ] as const)('(%s, %s, %s, %s) is %s', (sdkAppId, roomId, userId, streamType, expected) => {
    expect(trtcStreamId(sdkAppId, roomId, userId, streamType)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['A'.repeat(33), '33 characters'],
    ['user.a', 'a dot'],
    ['用户', 'non-ASCII'],
    ['a b', 'a space'],
  ])('refuses userId %j (%s), naming the rule', (userId) => {
    expect(() => trtcStreamId(1400188366, 1, userId, 'main')).toThrow(RangeError);
    expect(() => trtcStreamId(1400188366, 1, userId, 'main')).toThrow('[a-zA-Z0-9_-]');
  });

  it('refuses a bad SDKAppID, roomId or streamType', () => {
    expect(() => trtcStreamId(0, 1, 'u', 'main')).toThrow(RangeError);
    expect(() => trtcStreamId(1.5, 1, 'u', 'main')).toThrow(RangeError);
    expect(() => trtcStreamId(1400188366, -1, 'u', 'main')).toThrow(RangeError);
    expect(() => trtcStreamId(1400188366, '', 'u', 'main')).toThrow(RangeError);
    expect(() => trtcStreamId(1400188366, 'r'.repeat(65), 'u', 'main')).toThrow(RangeError);
    expect(() => trtcStreamId(1400188366, 1, 'u', 'sub' as 'main')).toThrow(RangeError);
  });

  it('isTrtcUserId follows the same rule', () => {
    expect(isTrtcUserId('a_B-9')).toBe(true);
    expect(isTrtcUserId('a.b')).toBe(false);
  });
});

describe('decodeTrtcUserId', () => {
  it.each([
    ['userid=MQ==', '1'],
    ['txSecret=abc&txTime=5C271099&userid=MQ==&userdefinerecordid=abc', '1'],
    ['?userid=dXNlcl9h', 'user_a'],
    ['userid=dXNlcl9h&userid=Mg==', 'user_a'],
    // Percent-encoded padding, as a URL encoder writes it.
    ['userid=MQ%3D%3D', '1'],
    // Unpadded and URL-safe Base64 ('+/' as '-_').
    ['userid=MQ', '1'],
    [`userid=${Buffer.from('a>?b').toString('base64')}`, 'a>?b'],
    [`userid=${Buffer.from('a>?b').toString('base64url')}`, 'a>?b'],
  ])('%s gives %j', (query, userId) => {
    expect(decodeTrtcUserId(query)).toBe(userId);
  });

  it.each([
    ['', 'an empty query'],
    ['txSecret=abc', 'no userid'],
    ['userid=', 'an empty userid'],
    ['userid=M Q==', 'a space'],
    ['userid=MQ=Q', 'padding inside'],
    ['userid=MR==', 'non-canonical bits'],
    ['userid=%E0%A4%A', 'broken percent-encoding'],
    [`userid=${Buffer.from([0xff, 0xfe]).toString('base64')}`, 'bytes that are not UTF-8'],
  ])('%j (%s) gives undefined', (query) => {
    expect(decodeTrtcUserId(query)).toBeUndefined();
  });

  it('round-trips with the ids trtcStreamId accepts', () => {
    const userId = 'Zz_-09';
    const query = `userid=${Buffer.from(userId).toString('base64')}`;
    expect(decodeTrtcUserId(query)).toBe(userId);
    expect(trtcStreamId(1400188366, 1, decodeTrtcUserId(query)!, 'aux')).toBe(`1400188366_1_${userId}_aux`);
  });
});
