import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupMessage, sendImWebhook } from '../helpers/im.js';
import { decode } from '../helpers/media.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

// The short behavioural version of `npm run burst:im` (docs/im-burst.md): it asserts that nothing is lost, no speed.
const RATE = 200;
const SECONDS = 5;
const PUSH_SECONDS = 12;
const GROUP = '@TGS#burst';
const STREAMS = ['burst_a', 'burst_b'];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe(`a burst of ${RATE} IM events a second for ${SECONDS} s during two recordings`, () => {
  let rec: TestRecorder;
  let answers: number[];
  beforeAll(async () => {
    rec = await startRecorder({
      record: { formats: ['hls'], hlsSegmentSeconds: 2 },
      im: { groups: { [GROUP]: ['burst_*'] } },
    });
    const im = { base: `http://127.0.0.1:${rec.recorder.httpPort}`, sdkAppId: 1400000123 };
    const publishers = STREAMS.map((s) => publish(rec.rtmpUrl(s), { seconds: PUSH_SECONDS }));
    await eventually(
      () => STREAMS.every((s) => (rec.recorder.manager.sessionOf('live', s)?.identity.mediaStartMs ?? 0) > 0),
      15_000,
      'both recordings to start',
    );
    await sleep(1000);
    // Each 10 ms, the events due by then: the pace holds even when answers are slow.
    const sends: Promise<number>[] = [];
    const started = Date.now();
    for (let n = 0; n < RATE * SECONDS;) {
      const due = Math.min(RATE * SECONDS, Math.floor(((Date.now() - started) / 1000) * RATE));
      for (; n < due; n++) {
        const body = groupMessage({
          groupId: GROUP,
          account: `viewer${n % 50}`,
          seq: n + 1,
          atMs: Date.now(),
          text: `burst ${n}`,
        });
        sends.push(
          sendImWebhook(im, body).then((a) => (a.answer.ActionStatus === 'OK' ? a.status : -a.status)),
        );
      }
      await sleep(10);
    }
    answers = await Promise.all(sends);
    for (const p of publishers) expect(await p.exited).toBe(0);
    await eventually(() => rec.recorder.manager.sessions.length === 0, 30_000, 'the recordings to close');
  }, 90_000);

  afterAll(async () => {
    await rec?.stop();
  });

  it('every webhook is answered OK, and every event is in the sidecar of each recording of its group, once', async () => {
    expect(answers).toHaveLength(RATE * SECONDS);
    expect(answers.filter((s) => s !== 200)).toEqual([]);
    const playlists = (await rec.files()).filter((f) => f.endsWith('.m3u8'));
    expect(playlists).toHaveLength(2);
    for (const playlist of playlists) {
      const { events } = JSON.parse(
        await readFile(join(rec.dataDir, 'live', `${playlist}.events.json`), 'utf8'),
      ) as { events: { text: string; seconds: number }[] };
      const texts = events.map((e) => e.text);
      expect(new Set(texts).size, playlist).toBe(RATE * SECONDS);
      expect([...texts].sort(), playlist).toEqual(
        Array.from({ length: RATE * SECONDS }, (_, n) => `burst ${n}`).sort(),
      );
    }
  });

  it('the recordings are intact: every frame decodes, and they hold the whole push', async () => {
    for (const playlist of (await rec.files()).filter((f) => f.endsWith('.m3u8'))) {
      const { errors, seconds } = await decode(join(rec.dataDir, 'live', playlist));
      expect(errors, playlist).toEqual([]);
      expect(seconds, playlist).toBeGreaterThan(PUSH_SECONDS - 1.5);
    }
  });
});
