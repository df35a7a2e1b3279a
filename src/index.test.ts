import { describe, expect, it } from 'vitest';
import { signed } from './callback/sign.js';
import { txSecretFor, verifyTencentSign, type StreamEndEvent } from './index.js';

describe('the package entry for callback receivers', () => {
  it('verifies a signed body with the key, and refuses another key or an expired t', () => {
    const body: StreamEndEvent = signed(
      {
        event_type: 0,
        appid: 1253000000,
        app: 'push.example.com',
        appname: 'live',
        stream_id: 's1',
        channel_id: 's1',
        event_time: 1_700_000_000,
        sequence: '7',
        node: '127.0.0.1',
        user_ip: '127.0.0.1',
        stream_param: '',
        errcode: 0,
        errmsg: '',
        width: 0,
        height: 0,
        set_id: 1,
        push_duration: '4000',
      },
      'callback-key',
      1_700_000_000_000,
    );
    expect(verifyTencentSign(body, 'callback-key', 1_700_000_000_000)).toBe(true);
    expect(verifyTencentSign(body, 'other-key', 1_700_000_000_000)).toBe(false);
    // t is the send time plus 600 s; after that the signature has expired.
    expect(verifyTencentSign(body, 'callback-key', 1_700_000_601_000)).toBe(false);
  });

  it('builds the txSecret of a push URL as md5(key + stream + txTime)', () => {
    // md5("key" + "s1" + "5C271099"), computed with md5sum.
    expect(txSecretFor('key', 's1', '5C271099')).toBe('450ce3458c0cd4292c092a395dd738d3');
  });
});
