import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import HLS from 'hls-parser';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DEFAULT_FILE_NAME_TEMPLATE, type ConfigInput } from '../../src/config/schema.js';
import { parseFileName } from '../../src/naming/names.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { decode } from '../helpers/media.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const TIME_ZONE = 'Asia/Shanghai';

const isFormat = (format: string) => (b: Record<string, unknown>) => b.file_format === format;

function baseNameOf(url: unknown): string {
  return decodeURIComponent(new URL(String(url)).pathname.split('/').at(-1)!);
}

const wallClock = new Intl.DateTimeFormat('en-US', {
  timeZone: TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** `YYYY-MM-DD-HH-MM-SS` of a Unix time in TIME_ZONE, formatted independently of the code under test. */
function wallFields(unixSeconds: number): string {
  const parts = Object.fromEntries(
    wallClock.formatToParts(new Date(unixSeconds * 1000)).map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}-${parts.hour}-${parts.minute}-${parts.second}`;
}

function yearOf(unixSeconds: number): string {
  return wallFields(unixSeconds).slice(0, 4);
}

/** Starts a callback receiver and a recorder that calls it back; stops both after the block. */
function useRecorder(record: NonNullable<ConfigInput['record']>): () => {
  rec: TestRecorder;
  receiver: CallbackReceiver;
} {
  let receiver: CallbackReceiver;
  let rec: TestRecorder;
  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { timeZone: TIME_ZONE, ...record },
      callback: { url: receiver.url },
    });
  });
  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });
  return () => ({ rec, receiver });
}

/** Waits until the recorder has no recording left and every callback is delivered. */
async function settled(rec: TestRecorder): Promise<void> {
  await eventually(
    () => rec.recorder.manager.sessions.length === 0 && rec.recorder.outbox.pending().length === 0,
    30_000,
    'recordings to finish and callbacks to be delivered',
  );
}

describe('the default template', () => {
  const ctx = useRecorder({ formats: ['mp4'] });

  it('file names follow the template with the real times', async () => {
    const { rec, receiver } = ctx();
    const stream = 'stream_n1';
    const before = Date.now();
    const publisher = publish(rec.rtmpUrl(stream), { seconds: 5 });
    expect(await publisher.exited).toBe(0);
    const after = Date.now();

    const [body] = await receiver.waitFor(isFormat('mp4'));
    const fileName = baseNameOf(body!.video_url);
    expect(await rec.files()).toEqual([fileName]);
    expect(fileName).toMatch(
      /^stream_n1_\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.mp4$/,
    );

    const baseName = fileName.replace(/\.mp4$/, '');
    const parsed = parseFileName({ template: DEFAULT_FILE_NAME_TEMPLATE, timeZone: TIME_ZONE }, baseName);
    expect(parsed).not.toBeNull();
    expect(parsed!.streamId).toBe(stream);
    expect(parsed!.disambiguator).toBe(0);

    const startTime = body!.start_time as number;
    const endTime = body!.end_time as number;
    const start = parsed!.start.getTime();
    const end = parsed!.end.getTime();
    expect(Math.abs(start / 1000 - startTime)).toBeLessThanOrEqual(1);
    expect(start).toBeGreaterThanOrEqual(before - 1000);
    expect(start).toBeLessThanOrEqual(before + 3000);
    expect(Math.abs(end / 1000 - endTime)).toBeLessThanOrEqual(1);
    expect(end).toBeLessThanOrEqual(after + 1000);
    expect(end).toBeGreaterThan(start);

    // The date fields are the callback's times as a clock in Asia/Shanghai shows them.
    const startPrefix = `${stream}_${wallFields(startTime)}`;
    expect(fileName.slice(0, startPrefix.length)).toBe(startPrefix);
    expect(fileName.slice(startPrefix.length)).toBe(`_${wallFields(endTime)}.mp4`);
  });
});

describe('a push with userdefinerecordid', () => {
  const ctx = useRecorder({ formats: ['hls', 'mp4'], hlsSegmentSeconds: 2 });

  it('userdefinerecordid replaces the stream id in names', async () => {
    const { rec, receiver } = ctx();
    const stream = 'udr1';
    const query = 'userdefinerecordid=myrec42&userid=MQ==';
    const publisher = publish(rec.rtmpUrl(stream, query), { seconds: 5 });
    expect(await publisher.exited).toBe(0);

    await receiver.waitFor(isFormat('hls'));
    await receiver.waitFor(isFormat('mp4'));
    await settled(rec);

    const files = await rec.files();
    expect(files.filter((f) => f.endsWith('.m3u8'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.mp4'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.ts')).length).toBeGreaterThan(0);
    for (const file of files) expect(file.startsWith('myrec42_'), file).toBe(true);

    const files100 = receiver.bodies.filter((b) => b.event_type === 100);
    expect(files100).toHaveLength(2);
    for (const body of files100) {
      expect(body.stream_id).toBe(stream);
      expect(body.channel_id).toBe(stream);
      expect(body.stream_param).toBe(query);
      expect(baseNameOf(body.video_url).startsWith('myrec42_')).toBe(true);
    }
  });
});

describe('a template without seconds', () => {
  const template = '{StreamID}_{StartYear}';
  const ctx = useRecorder({ formats: ['mp4'], fileNameTemplate: template });

  it('two files in the same second do not collide', async () => {
    const { rec, receiver } = ctx();
    const stream = 'nc1';
    for (let i = 0; i < 2; i++) {
      const publisher = publish(rec.rtmpUrl(stream), { seconds: 4 });
      expect(await publisher.exited).toBe(0);
    }
    const bodies = await receiver.waitFor(isFormat('mp4'), 2);
    await settled(rec);
    expect(receiver.bodies.filter((b) => b.event_type === 100)).toHaveLength(2);

    const files = (await rec.files()).filter((f) => f.endsWith('.mp4'));
    expect(files).toHaveLength(2);
    expect(new Set(files).size).toBe(2);
    const urls = bodies.map((b) => b.video_url);
    expect(urls[0]).not.toBe(urls[1]);
    expect(urls.map(baseNameOf).sort()).toEqual(files);

    // Both names render to the same template text; the later file is told apart by a suffix.
    const [first, second] = [...bodies].sort((a, b) => (a.start_time as number) - (b.start_time as number));
    const text = (body: Record<string, unknown>) => `${stream}_${yearOf(body.start_time as number)}`;
    expect(baseNameOf(first!.video_url)).toBe(`${text(first!)}.mp4`);
    expect(baseNameOf(second!.video_url).startsWith(text(second!))).toBe(true);
    for (const file of files) {
      const { errors, seconds } = await decode(join(rec.dataDir, 'live', file));
      expect(errors, `decoding ${file}`).toEqual([]);
      expect(seconds, `decoded duration of ${file}`).toBeGreaterThan(2);
    }
  });
});

describe('HLS naming', () => {
  const ctx = useRecorder({ formats: ['hls'], hlsSegmentSeconds: 2 });

  it("an HLS recording's files share one prefix", async () => {
    const { rec, receiver } = ctx();
    const stream = 'hlsn1';
    const publisher = publish(rec.rtmpUrl(stream), { seconds: 6 });
    expect(await publisher.exited).toBe(0);

    const [body] = await receiver.waitFor(isFormat('hls'));
    await settled(rec);
    const playlistName = baseNameOf(body!.video_url);
    // The head is the stream id and the recording's start, as a Shanghai clock shows it.
    const head = `${stream}_${wallFields(body!.start_time as number)}`;
    expect(playlistName).toBe(`${head}_${wallFields(body!.end_time as number)}.m3u8`);

    const files = await rec.files();
    const segments = files.filter((f) => f.endsWith('.ts'));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(files.filter((f) => f.endsWith('.m3u8'))).toEqual([playlistName]);
    for (const file of [...segments, playlistName]) expect(file.startsWith(head), file).toBe(true);

    // A prefix listing finds the whole recording: the playlist and every segment it names.
    const listed = files.filter((f) => f.startsWith(head));
    expect(listed).toEqual(files);
    const playlist = HLS.parse(await readFile(join(rec.dataDir, 'live', playlistName), 'utf8'));
    expect(playlist.isMasterPlaylist).toBe(false);
    const uris = (playlist as HLS.types.MediaPlaylist).segments.map((s) => s.uri);
    expect([...uris].sort()).toEqual(segments);
    expect(listed.sort()).toEqual([...segments, playlistName].sort());
  });
});
