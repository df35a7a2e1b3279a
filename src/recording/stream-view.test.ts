import { describe, expect, it } from 'vitest';
import { streamView } from './stream-view.js';

const session = (state: string, extra: Record<string, unknown> = {}) => ({
  id: 'r1',
  state,
  identity: { app: 'live', stream: 's1', mediaStartMs: Date.UTC(2026, 11, 1, 8) },
  record: { formats: ['hls', 'mp4'], hlsResumeTimeoutSeconds: 30 },
  interruptedAt: 1_000_000,
  bytesIn: 12345,
  restarts: 1,
  livePlaylistKey: 'live/s1_2026-12-01-16-00-00.live.m3u8',
  ...extra,
});

describe('streamView', () => {
  it('a live recording: its start, bytes, restarts and node; no countdown', () => {
    expect(streamView(session('recording'), 'node-a', 1_010_000)).toEqual({
      stream: 's1',
      app: 'live',
      recordingId: 'r1',
      state: 'recording',
      formats: ['hls', 'mp4'],
      startedAt: '2026-12-01T08:00:00.000Z',
      bytesIn: 12345,
      resumeSecondsLeft: null,
      restarts: 1,
      node: 'node-a',
      livePlaylist: 'live/s1_2026-12-01-16-00-00.live.m3u8',
    });
  });

  it('an interrupted one counts down its resume window, never below 0', () => {
    expect(streamView(session('interrupted'), 'n', 1_010_000).resumeSecondsLeft).toBe(20);
    expect(streamView(session('interrupted'), 'n', 2_000_000).resumeSecondsLeft).toBe(0);
  });

  it('before its first media it has no start', () => {
    const starting = session('starting', { identity: { app: 'live', stream: 's1', mediaStartMs: 0 } });
    expect(streamView(starting, 'n', 0).startedAt).toBeNull();
    expect(streamView(session('starting', { livePlaylistKey: undefined }), 'n', 0).livePlaylist).toBeNull();
  });
});
