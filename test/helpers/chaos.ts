import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePlaylist } from '../../src/recording/hls-playlist.js';
import { startCallbackReceiver, type CallbackReceiver } from './callback-receiver.js';
import { decode, probe } from './media.js';
import { prng } from './rtmp-fuzz.js';
import { eventually, publish, type Publisher } from './recorder.js';

/** The recorder as its own process (`recorder serve`), so that it can be killed with SIGKILL. */
export interface RecorderProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

export interface ChaosOptions {
  /** Kill points: each kills the recorder once during live pushes and restarts it. */
  points: number;
  /** Streams pushed at once at each point. */
  streams: number;
  seed: number;
  dataDir: string;
  /** The kill comes this long after the pushes start: a random time in [min, max). */
  killAfterMs: [number, number];
  /**
   * `recorder`: SIGKILL to the recorder alone (its ffmpeg children read the end of their input and close their
   * files). `tree`: SIGKILL to the recorder and its ffmpeg children at once, as an OOM kill of a container
   * does (files are cut mid-write). `alternate`: each in turn.
   */
  kill: 'recorder' | 'tree' | 'alternate';
  /** Called after each point, for progress output. */
  onPoint?: (point: ChaosPoint) => void;
}

/** What one kill left, per stream and format. */
export interface ChaosFile {
  stream: string;
  format: 'hls' | 'mp4';
  file: string;
  /** ffprobe opened it and found its streams. */
  playable: boolean;
  streams: number;
  /** Errors ffmpeg reported decoding every frame. */
  decodeErrors: string[];
  /** Media the file holds, in seconds. */
  durationSeconds: number;
  /** Media pushed before the kill that the file lacks: kill time - (media start + duration), in seconds. */
  gapSeconds: number;
  /** HLS: the playlist is closed with EXT-X-ENDLIST. */
  ended: boolean;
  /** Events 100 received for this file's format and stream (exactly one expected). */
  callbacks: number;
}

export interface ChaosPoint {
  point: number;
  killAfterMs: number;
  kill: 'recorder' | 'tree';
  /** From the restart to the last event 100 of the point's streams. */
  recoveryMs: number;
  files: ChaosFile[];
  /** Streams pushed for over 2 s whose files or callbacks never came. */
  missing: string[];
  /** Streams with no file at all: killed before their ffmpeg wrote anything, under 2 s after the push began. */
  unrecorded: string[];
  /** Events 1, 0 and 332 received per stream, in arrival order. */
  events: Record<string, Record<string, unknown>[]>;
  /** When the kill came and when the pushes started, Unix ms. */
  killedAt: number;
  pushedAt: number;
}

const RECORDER_CLI = resolve('dist/src/cli.js');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** Starts `recorder serve` on a config file, its output appended to logFile; resolves once /readyz answers. */
export async function startRecorderProcess(configFile: string, logFile: string, httpPort: number) {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [RECORDER_CLI, 'serve', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
    // A process group of its own, holding its ffmpeg children: a tree kill signals the group.
    detached: true,
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`recorder exited with ${child.exitCode}, see ${logFile}`);
      const answer = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
      return answer?.ok;
    },
    30_000,
    'the recorder to be ready',
  );
  return { child, exited } satisfies RecorderProcess;
}

/**
 * Kills a recorder process with SIGKILL at random moments of live pushes, restarts it on the same data dir,
 * and checks what each kill left: every file playable, close to the media pushed, and announced once.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosPoint[]> {
  await mkdir(options.dataDir, { recursive: true });
  const receiver = await startCallbackReceiver();
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const configFile = join(options.dataDir, '..', 'chaos-recorder.json');
  const logFile = join(options.dataDir, '..', 'chaos-recorder.log');
  await writeFile(
    configFile,
    JSON.stringify({
      rtmp: { host: '127.0.0.1', port: rtmpPort },
      http: { host: '127.0.0.1', port: httpPort },
      dataDir: options.dataDir,
      record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2, timeZone: 'Asia/Shanghai', minFreeBytes: 0 },
      callback: { url: receiver.url, retryIntervalSeconds: 0.5, maxAttempts: 1000, timeoutSeconds: 5 },
    }),
  );
  const random = prng(options.seed);
  const points: ChaosPoint[] = [];
  let recorder = await startRecorderProcess(configFile, logFile, httpPort);
  try {
    for (let point = 0; point < options.points; point++) {
      const [min, max] = options.killAfterMs;
      const killAfterMs = Math.round(min + random() * (max - min));
      const streams = Array.from({ length: options.streams }, (_, i) => `chaos${point}x${i}`);
      const pushedAt = Date.now();
      const publishers: Publisher[] = streams.map((stream) =>
        publish(`rtmp://127.0.0.1:${rtmpPort}/live/${stream}`, { seconds: 30 }),
      );
      const kill = options.kill === 'alternate' ? (point % 2 === 0 ? 'recorder' : 'tree') : options.kill;
      await sleep(killAfterMs);
      if (kill === 'tree') process.kill(-recorder.child.pid!, 'SIGKILL');
      else recorder.child.kill('SIGKILL');
      const killedAt = Date.now();
      await recorder.exited;
      await Promise.all(publishers.map((p) => p.exited));
      const restartedAt = Date.now();
      recorder = await startRecorderProcess(configFile, logFile, httpPort);
      const result = await collectPoint(receiver, options.dataDir, streams, pushedAt, killedAt);
      points.push({
        point,
        killAfterMs,
        kill,
        recoveryMs: result.lastCallbackAt - restartedAt,
        killedAt,
        pushedAt,
        ...result,
      });
      options.onPoint?.(points.at(-1)!);
    }
  } finally {
    process.kill(-recorder.child.pid!, 'SIGKILL');
    await recorder.exited;
    await receiver.close();
  }
  return points;
}

function event100Of(receiver: CallbackReceiver, stream: string, format: string) {
  return receiver.bodies.filter(
    (b) => b.event_type === 100 && b.stream_id === stream && b.file_format === format,
  );
}

async function collectPoint(
  receiver: CallbackReceiver,
  dataDir: string,
  streams: string[],
  pushedAt: number,
  killedAt: number,
): Promise<{
  files: ChaosFile[];
  missing: string[];
  unrecorded: string[];
  lastCallbackAt: number;
  events: Record<string, Record<string, unknown>[]>;
}> {
  // Recovery is done when no work dir, upload job or pending callback is left.
  const left = async () =>
    (
      await Promise.all(
        ['.work', join('.uploads', 'jobs'), join('.outbox', 'pending')].map((dir) =>
          readdir(join(dataDir, dir)).catch(() => [] as string[]),
        ),
      )
    ).flat().length;
  await eventually(async () => (await left()) === 0, 60_000, 'recovery, uploads and callbacks to finish');
  // A stream has no file only when the kill came before its ffmpeg wrote anything: that is allowed only
  // when less than 2 s had been pushed (measured from the publisher's spawn, so an upper bound).
  const missing = streams.filter(
    (s) =>
      (!event100Of(receiver, s, 'hls').length || !event100Of(receiver, s, 'mp4').length) &&
      killedAt - pushedAt > 2_000,
  );
  const unrecorded = streams.filter(
    (s) => !event100Of(receiver, s, 'hls').length && !event100Of(receiver, s, 'mp4').length,
  );
  // Every push gets its event 0 after the restart, and every recording that left files its record_ended.
  const others = (stream: string) =>
    receiver.bodies.filter((b) => b.stream_id === stream && b.event_type !== 100);
  await eventually(
    () =>
      streams.every(
        (s) =>
          others(s).some((b) => b.event_type === 0) &&
          (!event100Of(receiver, s, 'mp4').length ||
            others(s).some((b) => b.event_type === 332 && b.record_event === 'record_ended')),
      ),
    30_000,
    'event 0 of every push and record_ended of every recording',
  );
  // Time for a duplicate, if the recovery sent one.
  await sleep(1_000);
  const lastCallbackAt = Math.max(
    0,
    ...receiver.received.filter((r) => r.body.event_type === 100).map((r) => r.at),
  );
  const names = await readdir(join(dataDir, 'live')).catch(() => [] as string[]);
  const files: ChaosFile[] = [];
  for (const stream of streams) {
    for (const format of ['hls', 'mp4'] as const) {
      const ext = format === 'hls' ? '.m3u8' : '.mp4';
      const events = event100Of(receiver, stream, format);
      for (const name of names.filter(
        (n) => n.startsWith(`${stream}_`) && n.endsWith(ext) && !n.endsWith('.live.m3u8'),
      )) {
        const path = join(dataDir, 'live', name);
        const probed = await probe(path).catch(() => undefined);
        const mediaStartMs = Number(events[0]?.media_start_time ?? NaN);
        let durationSeconds = Number(probed?.format.duration ?? 0);
        let ended = false;
        let endMs = mediaStartMs + durationSeconds * 1000;
        if (format === 'hls') {
          const playlist = parsePlaylist(await readFile(path, 'utf8'));
          const last = playlist.segments.at(-1);
          ended = playlist.ended;
          durationSeconds = playlist.segments.reduce((sum, s) => sum + s.durationSeconds, 0);
          endMs = last ? last.programDateTime.getTime() + last.durationSeconds * 1000 : NaN;
        }
        files.push({
          stream,
          format,
          file: name,
          playable: Boolean(probed && probed.streams.length > 0),
          streams: probed?.streams.length ?? 0,
          decodeErrors: (await decode(path).catch((err: Error) => ({ errors: [err.message] }))).errors,
          durationSeconds,
          gapSeconds: (killedAt - endMs) / 1000,
          ended,
          callbacks: events.length,
        });
      }
    }
  }
  const events = Object.fromEntries(streams.map((s) => [s, others(s)]));
  return { files, missing, unrecorded, lastCallbackAt, events };
}
