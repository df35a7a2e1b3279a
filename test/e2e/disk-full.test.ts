import { execFile } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Recorder } from '../../src/main.js';
import { freeBytesOf, type DiskState } from '../../src/recording/disk-guard.js';
import { createLogger } from '../../src/shared/logger.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { decode, probe } from '../helpers/media.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const RESERVE = 8 * MIB;

/** Fills `path` until the file system under it has `leaveBytes` free (tmpfs counts what is written). */
async function fill(path: string, dir: string, leaveBytes: number): Promise<number> {
  const chunk = Buffer.alloc(MIB, 1);
  const file = await open(path, 'a');
  let written = 0;
  try {
    for (;;) {
      const room = (await freeBytesOf(dir)) - leaveBytes;
      if (room <= 0) break;
      try {
        const { bytesWritten } = await file.write(chunk, 0, Math.min(room, chunk.length));
        written += bytesWritten;
      } catch (err) {
        // ffmpeg took the last pages first: the disk is as full as it gets.
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return written;
}

/** Mounts a 40 MiB tmpfs on a new temp dir; a failure throws mount's own error. */
async function mountTmpfs(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir]);
  } catch (err) {
    await rmdir(dir);
    throw err;
  }
  return dir;
}

async function unmount(dir: string): Promise<void> {
  await run('umount', ['-l', dir]);
  await rmdir(dir);
}

/** The value of one sample in Prometheus text format. */
function sample(text: string, line: RegExp): number | undefined {
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? undefined : Number(m.split(/\s+/).at(-1));
}

describe('a full disk', () => {
  let mountDir: string | undefined;
  let callbacks: CallbackReceiver;
  let rec: TestRecorder;

  beforeAll(async () => {
    mountDir = await mountTmpfs('recorder-disk-full-');
    callbacks = await startCallbackReceiver();
    rec = await startRecorder({
      // A subdirectory, so the recorder's cleanup can remove its data dir under the mount point.
      dataDir: join(mountDir, 'data'),
      record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2, minFreeBytes: RESERVE },
      callback: { url: callbacks.url },
    });
  });

  afterAll(async () => {
    await rec?.stop().catch(() => {});
    await callbacks?.close();
    if (mountDir) await unmount(mountDir);
  });

  it('cuts the open recording with its files stored, refuses publishes, and accepts them once space returns', async () => {
    const guard = rec.recorder.disk;
    const dataDir = rec.dataDir;
    expect(guard.state).toBe('ok');
    const changes: [DiskState, number, string][] = [];
    const refused: [string, string][] = [];
    guard.on('disk', (state, free, reason) => changes.push([state, free, reason]));
    guard.on('refused', (_app, stream, reason) => refused.push([stream, reason]));

    // 1. A push records until the disk fills under it.
    const before = publish(rec.rtmpUrl('before'), { seconds: 30 });
    const session = await eventually(
      () => {
        const s = rec.recorder.manager.sessionOf('live', 'before');
        const first = s?.currentRun?.firstMediaWallMs;
        return s?.state === 'recording' && first !== undefined && Date.now() - first >= 5000 ? s : undefined;
      },
      30_000,
      '5 s of recording',
    );
    const statuses: string[] = [];
    session.on('status', (status) => statuses.push(status));
    const filler = join(mountDir!, 'filler');
    const filled = await fill(filler, mountDir!, RESERVE / 2);
    await eventually(() => guard.state === 'full', 10_000, 'the disk counted full');
    const [fullState, fullFree, fullReason] = changes[0]!;
    expect(fullState).toBe('full');
    expect(fullFree).toBeLessThan(RESERVE);
    expect(fullReason).toMatch(
      new RegExp(`^disk full: ${fullFree} bytes free.*minFreeBytes \\(${RESERVE}\\)`),
    );

    // 2. The recording is finished, not lost: every file closed, stored and announced.
    expect(await session.done).toBe('completed');
    expect(await before.exited).not.toBe(0);
    expect(statuses).toContain('record_ended');
    const announced = await callbacks.waitFor((b) => b.event_type === 100 && b.stream_id === 'before', 2);
    expect(announced.map((b) => b.file_format).sort()).toEqual(['hls', 'mp4']);
    const files = await rec.files();
    const mp4 = files.find((f) => f.startsWith('before_') && f.endsWith('.mp4'));
    const m3u8 = files.find((f) => f.startsWith('before_') && f.endsWith('.m3u8'));
    expect(mp4, files.join(', ')).toBeDefined();
    expect(m3u8, files.join(', ')).toBeDefined();
    for (const name of [mp4!, m3u8!]) {
      const info = await probe(join(dataDir, 'live', name));
      expect(info.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      const decoded = await decode(join(dataDir, 'live', name));
      expect(decoded.errors, name).toEqual([]);
      // At least the 5 s recorded before the disk filled.
      expect(decoded.seconds, name).toBeGreaterThanOrEqual(4);
    }
    const playlist = await readFile(join(dataDir, 'live', m3u8!), 'utf8');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    for (const segment of playlist.split('\n').filter((l) => l.endsWith('.ts'))) {
      expect(files, segment).toContain(segment);
    }
    // Work files go only once everything in them is stored.
    expect(await readdir(join(dataDir, '.work'))).toEqual([]);

    // 3. While full, a new push is refused at its publish, with the reason, and sends no event 1.
    const during = publish(rec.rtmpUrl('during'), { seconds: 10 });
    expect(await during.exited).not.toBe(0);
    expect(refused.map(([stream]) => stream)).toContain('during');
    expect(refused[0]![1]).toMatch(/^disk full: \d+ bytes free in dataDir/);
    expect(rec.recorder.manager.sessionOf('live', 'during')).toBeUndefined();
    const metrics = await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/metrics`)).text();
    expect(sample(metrics, /^recorder_disk_full /)).toBe(1);
    expect(
      sample(metrics, /^recorder_publishes_refused_total\{reason="disk_full"\} /),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, /^recorder_disk_free_bytes /)).toBeLessThan(RESERVE);

    // 4. Space returns: publishes are accepted and recorded again.
    await rm(filler);
    await eventually(() => guard.state === 'ok', 10_000, 'the disk counted ok again');
    expect(changes.map(([state]) => state)).toEqual(['full', 'ok']);
    expect(changes[1]![1]).toBeGreaterThanOrEqual(guard.limits.resumeFreeBytes);
    const after = publish(rec.rtmpUrl('after'), { seconds: 6 });
    expect(await after.exited).toBe(0);
    const [afterMp4] = await callbacks.waitFor(
      (b) => b.event_type === 100 && b.stream_id === 'after' && b.file_format === 'mp4',
    );
    const afterName = String(afterMp4!.video_url).split('/').at(-1)!;
    const afterInfo = await probe(join(dataDir, 'live', afterName));
    expect(afterInfo.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(callbacks.bodies.filter((b) => b.stream_id === 'during')).toEqual([]);
    console.log(
      `disk full: filler ${(filled / MIB).toFixed(1)} MiB left ${fullFree} B free (reserve ${RESERVE} B); ` +
        `${refused.length} publish(es) refused; free again ${changes[1]![1]} B`,
    );
  });
});

describe('ffmpeg meeting a full disk between two measures', () => {
  let mountDir: string | undefined;
  let callbacks: CallbackReceiver;
  let recorder: Recorder | undefined;

  beforeAll(async () => {
    mountDir = await mountTmpfs('recorder-enospc-');
    callbacks = await startCallbackReceiver();
    // Built here rather than by startRecorder: a minute between polls, so only ffmpeg's death can reveal the full disk.
    recorder = await Recorder.start(
      parseConfig({
        rtmp: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        dataDir: join(mountDir, 'data'),
        record: {
          formats: ['hls', 'mp4'],
          hlsSegmentSeconds: 2,
          minFreeBytes: RESERVE,
          timeZone: 'Asia/Shanghai',
        },
        callback: { url: callbacks.url, retryIntervalSeconds: 0.2, timeoutSeconds: 5 },
      }),
      {
        logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
        timings: { pollMs: 100, stopGraceMs: 5000, restartDelayMs: 50 },
        diskPollMs: 60_000,
      },
    );
  });

  afterAll(async () => {
    await recorder?.stop().catch(() => {});
    await callbacks?.close();
    if (mountDir) await unmount(mountDir);
  });

  it('is not restarted onto it; what it wrote is kept and finished once space returns, and publishes are accepted again', async () => {
    const rec = recorder!;
    const dataDir = join(mountDir!, 'data');
    const url = (stream: string) => `rtmp://127.0.0.1:${rec.rtmpPort}/live/${stream}`;
    const push = publish(url('cut'), { seconds: 30 });
    const session = await eventually(
      () => {
        const s = rec.manager.sessionOf('live', 'cut');
        const first = s?.currentRun?.firstMediaWallMs;
        return s?.state === 'recording' && first !== undefined && Date.now() - first >= 5000 ? s : undefined;
      },
      30_000,
      '5 s of recording',
    );
    let restarts = 0;
    session.on('restart', () => restarts++);

    // Everything the tmpfs has left, so ffmpeg's next write fails with ENOSPC.
    const filler = join(mountDir!, 'filler');
    await fill(filler, mountDir!, 0);
    await session.done;
    expect(await push.exited).not.toBe(0);
    expect(rec.disk.state).toBe('full');
    // ffmpeg died once; the measure it prompted found the disk full and ended the recording instead of a restart.
    expect(restarts).toBe(1);
    expect(session.currentRun?.index).toBe(0);

    // What ffmpeg wrote is kept: stored segments, and the rest left in the work dir, playable.
    const stored = await readdir(join(dataDir, 'live'));
    const segments = stored.filter((f) => f.startsWith('cut_') && f.endsWith('.ts'));
    expect(segments.length, stored.join(', ')).toBeGreaterThanOrEqual(2);
    for (const segment of segments) {
      const info = await probe(join(dataDir, 'live', segment));
      expect(info.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    }
    const mp4 = [
      ...stored
        .filter((f) => f.startsWith('cut_') && f.endsWith('.mp4'))
        .map((f) => join(dataDir, 'live', f)),
      ...(await readdir(join(dataDir, '.work', session.id, 'run-0')).catch(() => [] as string[]))
        .filter((f) => f.endsWith('.mp4'))
        .map((f) => join(dataDir, '.work', session.id, 'run-0', f)),
    ];
    expect(mp4).toHaveLength(1);
    expect((await probe(mp4[0]!)).streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    // The fragments closed before the disk filled decode (two 2 s GOPs at least); the one cut by ENOSPC may not.
    const decoded = await decode(mp4[0]!);
    expect(decoded.seconds).toBeGreaterThanOrEqual(3.5);

    // While full, publishes are refused; once the filler goes, they are accepted and recorded.
    const refusedPush = publish(url('refused'), { seconds: 10 });
    expect(await refusedPush.exited).not.toBe(0);
    await rm(filler);
    expect(await rec.disk.check()).toBe('ok');
    const after = publish(url('after'), { seconds: 6 });
    expect(await after.exited).toBe(0);
    const [announced] = await callbacks.waitFor(
      (b) => b.event_type === 100 && b.stream_id === 'after' && b.file_format === 'mp4',
    );
    const info = await probe(join(dataDir, 'live', String(announced!.video_url).split('/').at(-1)!));
    expect(info.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    // Space returned: what the failed recording left in its work dir is finished, stored and announced.
    for (const format of ['mp4', 'hls']) {
      const [done] = await callbacks.waitFor(
        (b) => b.event_type === 100 && b.stream_id === 'cut' && b.file_format === format,
      );
      const file = join(dataDir, 'live', String(done!.video_url).split('/').at(-1)!);
      expect((await probe(file)).streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    }
    await eventually(
      async () => (await readdir(join(dataDir, '.work'))).length === 0,
      30_000,
      'work dir gone',
    );
    console.log(
      `ENOSPC: ${restarts} ffmpeg death, recording ${await session.done}; ${segments.length} segments stored, ` +
        `mp4 ${mp4[0]!.includes('/.work/') ? 'kept in the work dir' : 'stored'} (${decoded.seconds.toFixed(1)} s)`,
    );
  });
});
