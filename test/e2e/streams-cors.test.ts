import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const ALLOWED = 'https://player.example.com';
let rec: TestRecorder;
const base = () => `http://127.0.0.1:${rec.recorder.httpPort}`;

beforeAll(async () => {
  rec = await startRecorder({
    http: { cors: { origins: [ALLOWED] } },
    record: { formats: ['hls', 'mp4'], hlsResumeTimeoutSeconds: 20 },
  });
});
afterAll(async () => {
  await rec?.stop();
});

describe('GET /api/streams', () => {
  it('shows a live push once its media flows, then its resume countdown once it drops', async () => {
    const pushed = publish(rec.rtmpUrl('listed'), { seconds: 4 });
    const listed = async () =>
      (
        (await (await fetch(`${base()}/api/streams`)).json()) as { streams: Record<string, unknown>[] }
      ).streams.find((s) => s.stream === 'listed');
    // From the moment the recorder took the publish, the listing shows it within 2 s.
    await eventually(
      () => rec.recorder.manager.sessions.some((session) => session.identity.stream === 'listed'),
      10_000,
      'the publish taken',
    );
    await eventually(async () => (await listed()) !== undefined, 2000, 'the push listed within 2 s');
    await eventually(async () => (await listed())?.state === 'recording', 5000, 'the push recording');
    const live = (await listed())!;
    expect(live).toMatchObject({
      app: 'live',
      formats: ['hls', 'mp4'],
      restarts: 0,
      resumeSecondsLeft: null,
    });
    expect(live.node).toEqual(expect.any(String));
    await eventually(async () => Number((await listed())?.bytesIn) > 10_000, 5000, 'bytes counted');
    expect(await pushed.exited).toBe(0);
    await eventually(async () => (await listed())?.state === 'interrupted', 5000, 'interrupted');
    const left = Number((await listed())!.resumeSecondsLeft);
    expect(left).toBeGreaterThan(10);
    expect(left).toBeLessThanOrEqual(20);
  }, 30_000);
});

describe('CORS (http.cors.origins)', () => {
  it('answers a preflight from an allowed origin, on /api/ and on the media files', async () => {
    for (const path of ['/api/streams', '/live/anything.m3u8']) {
      const answer = await fetch(`${base()}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: ALLOWED,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'range',
        },
      });
      expect(answer.status, path).toBe(204);
      expect(answer.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(answer.headers.get('access-control-allow-headers')).toContain('range');
    }
    const get = await fetch(`${base()}/api/streams`, { headers: { origin: ALLOWED } });
    expect(get.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(get.headers.get('access-control-expose-headers')).toContain('content-range');
  });

  it('gives another origin no CORS headers', async () => {
    const get = await fetch(`${base()}/api/streams`, { headers: { origin: 'https://evil.example.net' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses an origin with a path at start (exit 2 naming the key)', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    expect(() => parseConfig({ http: { cors: { origins: ['https://a.example.com/x'] } } })).toThrow(
      /http\.cors\.origins\.0.*must be an origin/s,
    );
  });
});
