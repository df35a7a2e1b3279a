import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordStatus } from '../../src/callback/events.js';
import type { RecordingSession } from '../../src/recording/recording-session.js';
import { startCallbackReceiver } from '../helpers/callback-receiver.js';
import { decode } from '../helpers/media.js';
import { eventually, publish, startRecorder } from '../helpers/recorder.js';

const MIB = 1024 * 1024;
const CAP = MIB;
// av.flv runs at about 55 KB/s: a stopped ffmpeg passes the 1 MiB cap some 20 s later, well before the push ends.
const PUSH_SECONDS = 32;

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Sends a signal to a process that may already be gone. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already exited.
  }
}

describe('a stalled ffmpeg', () => {
  it('is killed at the buffer cap, its recording ends with its files, and another push records on', async () => {
    const callbacks = await startCallbackReceiver();
    cleanups.push(() => callbacks.close());
    const rec = await startRecorder({
      record: { formats: ['mp4', 'hls'], hlsSegmentSeconds: 2, maxBufferedBytes: CAP },
      callback: { url: callbacks.url },
    });
    cleanups.push(() => rec.stop());

    const stalledPush = publish(rec.rtmpUrl('stalled'), { seconds: PUSH_SECONDS });
    const steadyPush = publish(rec.rtmpUrl('steady'), { seconds: PUSH_SECONDS });
    const pushedAt = Date.now();
    let stalledExitedAt = 0;
    void stalledPush.exited.then(() => (stalledExitedAt = Date.now()));
    const recording = (stream: string) =>
      eventually(
        () => {
          const session = rec.recorder.manager.sessionOf('live', stream);
          return session?.state === 'recording' && session.currentRun?.pid !== undefined
            ? session
            : undefined;
        },
        30_000,
        `${stream} recording`,
      );
    const [stalled, steady] = await Promise.all([recording('stalled'), recording('steady')]);
    const statuses = (session: RecordingSession) => {
      const seen: [RecordStatus, string][] = [];
      session.on('status', (status, detail) => seen.push([status, detail]));
      return seen;
    };
    const stalledStatuses = statuses(stalled);
    const steadyStatuses = statuses(steady);
    let restarts = 0;
    stalled.on('restart', () => restarts++);

    const run = stalled.currentRun!;
    const pid = run.pid!;
    // Two 2 s HLS segments are closed before ffmpeg stops.
    await eventually(
      () => run.firstMediaWallMs !== undefined && Date.now() - run.firstMediaWallMs >= 5000,
      30_000,
      '5 s of recording',
    );

    const baselineRss = process.memoryUsage().rss;
    let maxRss = baselineRss;
    let maxBacklog = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
      maxBacklog = Math.max(maxBacklog, run.backlogBytes);
    }, 50);
    const stoppedAt = Date.now();
    let end;
    try {
      signal(pid, 'SIGSTOP');
      end = await run.ended;
    } finally {
      clearInterval(sampler);
      signal(pid, 'SIGCONT');
    }
    const stallSeconds = (Date.now() - stoppedAt) / 1000;
    console.log(
      `stall: ffmpeg stopped for ${stallSeconds.toFixed(1)} s; buffered at the kill ${end.kind === 'stalled' ? end.bufferedBytes : '-'} B, ` +
        `max backlog sampled ${maxBacklog} B (cap ${CAP} B); RSS baseline ${(baselineRss / MIB).toFixed(1)} MiB, ` +
        `max ${(maxRss / MIB).toFixed(1)} MiB (+${((maxRss - baselineRss) / MIB).toFixed(1)} MiB)`,
    );

    // The run ended as stalled at the cap, and what it held stayed bounded by it.
    expect(end).toMatchObject({ kind: 'stalled', maxBufferedBytes: CAP });
    expect(end.kind === 'stalled' && end.bufferedBytes).toBeGreaterThan(CAP);
    expect(maxBacklog).toBeLessThanOrEqual(CAP + 256 * 1024);
    expect(maxRss - baselineRss).toBeLessThan(CAP + 64 * MIB);

    // The session reported the stall, closed its publisher and ended without restarting ffmpeg.
    expect(await stalled.done).toBe('completed');
    expect(restarts).toBe(0);
    const errors = stalledStatuses.filter(([status]) => status === 'record_error');
    expect(errors).toHaveLength(1);
    expect(errors[0]![1]).toMatch(/stalled.*maxBufferedBytes \(1 MiB\)/);
    const stalledCode = await stalledPush.exited;
    expect(
      stalledCode !== 0 || stalledExitedAt - pushedAt < (PUSH_SECONDS - 2) * 1000,
      `publisher exit ${stalledCode} after ${(stalledExitedAt - pushedAt) / 1000} s`,
    ).toBe(true);
    const [errorBody] = await callbacks.waitFor(
      (b) => b.stream_id === 'stalled' && b.record_event === 'record_error',
    );
    expect(JSON.parse(String(errorBody!.record_detail))).toMatchObject({
      reason: expect.stringMatching(/ffmpeg stalled/),
    });

    // The other push was untouched.
    expect(await steadyPush.exited).toBe(0);
    expect(await steady.done).toBe('completed');
    expect(steadyStatuses.filter(([status]) => status === 'record_error')).toEqual([]);

    const files = await rec.files();
    const ofStream = (stream: string, ext: string) =>
      files
        .filter((f) => f.startsWith(`${stream}_`) && f.endsWith(ext))
        .map((f) => join(rec.dataDir, 'live', f));
    for (const ext of ['.m3u8', '.mp4']) {
      expect(ofStream('stalled', ext), ext).toHaveLength(1);
      expect(ofStream('steady', ext), ext).toHaveLength(1);
    }
    // The stalled recording kept what ffmpeg wrote before it stopped: closed HLS segments, the open MP4.
    for (const file of [...ofStream('stalled', '.m3u8'), ...ofStream('stalled', '.mp4')]) {
      const { errors: decodeErrors, seconds } = await decode(file);
      console.log(`stall: ${file.slice(rec.dataDir.length)} decodes ${seconds} s`);
      expect(decodeErrors, file).toEqual([]);
      expect(seconds, file).toBeGreaterThanOrEqual(2);
      expect(seconds, file).toBeLessThan(PUSH_SECONDS - 5);
    }
    for (const file of [...ofStream('steady', '.m3u8'), ...ofStream('steady', '.mp4')]) {
      const { errors: decodeErrors, seconds } = await decode(file);
      expect(decodeErrors, file).toEqual([]);
      expect(seconds, file).toBeGreaterThanOrEqual(PUSH_SECONDS - 1);
      expect(seconds, file).toBeLessThanOrEqual(PUSH_SECONDS + 1);
    }
  });
});
