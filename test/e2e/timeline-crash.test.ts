import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startRecorderProcess } from '../helpers/chaos.js';
import { groupMessage, sendImWebhook } from '../helpers/im.js';
import { pushColourClock } from '../helpers/pattern.js';
import { eventually } from '../helpers/recorder.js';

const SDKAPPID = 1400000123;
const ROOM = '2002';
const STREAM = `${SDKAPPID}_${ROOM}_alice_main`;
const TOKEN = 'crash-im-token';
const MESSAGES = 40;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('kill -9 during a recording with markers and room events', () => {
  let root: string;
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('after the restart, the recovered files’ sidecars hold every marker and message, and the marker set just before the kill is kept', async () => {
    root = await mkdtemp(join(tmpdir(), 'timeline-crash-'));
    const dataDir = join(root, 'data');
    await mkdir(dataDir);
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    const configFile = join(root, 'recorder.json');
    await writeFile(
      configFile,
      JSON.stringify({
        rtmp: { host: '127.0.0.1', port: rtmpPort },
        http: { host: '127.0.0.1', port: httpPort },
        dataDir,
        record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2, minFreeBytes: 0 },
        im: { sdkAppId: SDKAPPID, callbackToken: TOKEN },
      }),
    );
    const logFile = join(root, 'recorder.log');
    const base = `http://127.0.0.1:${httpPort}`;
    const im = { base, sdkAppId: SDKAPPID, token: TOKEN };
    const marker = async (label: string) => {
      const answer = await fetch(`${base}/api/markers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ app: 'live', stream: STREAM, label }),
      });
      expect(answer.status).toBe(201);
    };

    let recorder = await startRecorderProcess(configFile, logFile, httpPort);
    const publisher = pushColourClock(`rtmp://127.0.0.1:${rtmpPort}/live/${STREAM}`, 60);
    try {
      await eventually(
        async () => {
          const { streams } = (await (await fetch(`${base}/api/streams`)).json()) as {
            streams: { stream: string; startedAt: string | null }[];
          };
          return streams.some((s) => s.stream === STREAM && s.startedAt);
        },
        20_000,
        'the recording to start',
      );
      await sleep(1500);
      await marker('first');
      for (let i = 0; i < MESSAGES; i++) {
        const sent = await sendImWebhook(
          im,
          groupMessage({
            groupId: ROOM,
            account: `viewer${i % 7}`,
            seq: i + 1,
            atMs: Date.now(),
            text: `message ${i}`,
          }),
        );
        expect(sent.status).toBe(200);
        await sleep(25);
      }
      await marker('second');
      // A segment and a fragment more of media, so the events lie inside what the kill leaves.
      await sleep(3000);
      await marker('at the kill');
    } finally {
      process.kill(-recorder.child.pid!, 'SIGKILL');
      await recorder.exited;
    }
    await publisher.exited;

    recorder = await startRecorderProcess(configFile, logFile, httpPort);
    try {
      const left = async () =>
        (
          await Promise.all(
            ['.work', join('.uploads', 'jobs')].map((dir) =>
              readdir(join(dataDir, dir)).catch(() => [] as string[]),
            ),
          )
        ).flat().length;
      await eventually(async () => (await left()) === 0, 60_000, 'recovery and uploads to finish');
      const files = await readdir(join(dataDir, 'live'));
      const sidecars = files.filter((f) => f.endsWith('.events.json')).sort();
      expect(sidecars.map((f) => f.replace(/^.*\.(m3u8|mp4)\.events\.json$/, '$1')).sort()).toEqual([
        'm3u8',
        'mp4',
      ]);
      for (const name of sidecars) {
        const { events } = JSON.parse(await readFile(join(dataDir, 'live', name), 'utf8')) as {
          events: { kind: string; label?: string; text?: string }[];
        };
        expect(
          events.filter((e) => e.kind === 'marker').map((e) => e.label),
          name,
        ).toEqual(expect.arrayContaining(['first', 'second']));
        const texts = events.filter((e) => e.kind === 'message').map((e) => e.text);
        expect(texts, name).toEqual(Array.from({ length: MESSAGES }, (_, i) => `message ${i}`));
      }
      const listed = (await (await fetch(`${base}/api/markers?app=live&stream=${STREAM}`)).json()) as {
        markers: { label: string }[];
      };
      expect(listed.markers.map((m) => m.label)).toEqual(['first', 'second', 'at the kill']);
    } finally {
      process.kill(-recorder.child.pid!, 'SIGKILL');
      await recorder.exited;
    }
  }, 180_000);
});
