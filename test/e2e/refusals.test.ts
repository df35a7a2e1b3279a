import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = 'refusal-metrics-key';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const hexTime = (deltaSeconds: number) => (Math.floor(Date.now() / 1000) + deltaSeconds).toString(16);
const signed = (stream: string, deltaSeconds = 600) => {
  const txTime = hexTime(deltaSeconds);
  return `txSecret=${md5(KEY + stream + txTime)}&txTime=${txTime}`;
};

/** The refusal counter of one reason, read from /metrics. */
async function refused(rec: TestRecorder, reason: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`recorder_publishes_refused_total{reason="${reason}"} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('recorder_publishes_refused_total counts every refusal by its reason', () => {
  let rec: TestRecorder;

  beforeAll(async () => {
    // auto: false, so a signed push that no rule names is taken but not recorded.
    rec = await startRecorder({
      auth: { publish: { enabled: true, key: KEY, backupKey: '' } },
      record: { formats: ['mp4'], auto: false },
    });
  });
  afterAll(async () => {
    await rec?.stop();
  });

  it('every reason is a series from the start', async () => {
    for (const reason of [
      'auth_no_signature',
      'auth_expired',
      'auth_mismatch',
      'duplicate_publisher',
      'unsafe_name',
      'disk_full',
      'shutting_down',
      'not_recorded',
    ]) {
      expect(await refused(rec, reason), reason).toBe(0);
    }
  });

  it('each refused push is counted once under its own reason, and refused pushes fail', async () => {
    const cases: [reason: string, url: string][] = [
      ['auth_no_signature', rec.rtmpUrl('nosig')],
      ['auth_expired', rec.rtmpUrl('expired', signed('expired', -600))],
      ['auth_mismatch', rec.rtmpUrl('mismatch', `txSecret=${md5('wrong')}&txTime=${hexTime(600)}`)],
      ['unsafe_name', rec.rtmpUrl('bad!name', signed('bad!name'))],
    ];
    for (const [reason, url] of cases) {
      const publisher = publish(url, { seconds: 2 });
      expect(await publisher.exited, reason).not.toBe(0);
      expect(await refused(rec, reason), reason).toBe(1);
    }
  });

  it('a second publisher of a live stream is a duplicate; the first, not recorded by any rule, is not_recorded', async () => {
    const first = publish(rec.rtmpUrl('dup', signed('dup')), { seconds: 6 });
    await eventually(async () => (await refused(rec, 'not_recorded')) === 1, 10_000, 'the first push taken');
    const second = publish(rec.rtmpUrl('dup', signed('dup')), { seconds: 2 });
    expect(await second.exited).not.toBe(0);
    expect(await refused(rec, 'duplicate_publisher')).toBe(1);
    // The first goes on to its end, unhurt.
    expect(await first.exited).toBe(0);
    expect(await refused(rec, 'not_recorded')).toBe(1);
    expect(await rec.files()).toEqual([]);
  });
});
