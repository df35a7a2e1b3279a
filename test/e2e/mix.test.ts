import { Agent } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import {
  colourFixture,
  frameAt,
  liveClient,
  longestGap,
  near,
  push,
  toneLevel,
  videoTimes,
  type LiveClient,
} from '../helpers/mix.js';
import { startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = { secretId: 'AKIDrecorderMix00001', secretKey: 'recorder-mix-secret-key-0001' };
const DOMAIN = 'push.example.com';
const W = 640;
const H = 360;
const GREY = [128, 128, 128];
const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const agent = new Agent();

/** The custom layout of the first mix: red and green side by side on top, blue (seen, not heard) below left. */
function layout(swap = false) {
  const region = (x: number, y: number) => ({
    ImageWidth: 320,
    ImageHeight: 180,
    LocationX: x,
    LocationY: y,
  });
  return {
    MixStreamSessionId: 'room1001',
    InputStreamList: [
      {
        InputStreamName: 'canvas',
        LayoutParams: { ImageLayer: 1, InputType: 3, ImageWidth: W, ImageHeight: H, Color: '0x808080' },
      },
      { InputStreamName: 'red', LayoutParams: { ImageLayer: 2, ...region(swap ? 320 : 0, 0) } },
      { InputStreamName: 'green', LayoutParams: { ImageLayer: 3, ...region(swap ? 0 : 320, 0) } },
      { InputStreamName: 'blue', LayoutParams: { ImageLayer: 4, InputType: 5, ...region(0, 180) } },
    ],
    OutputParams: {
      OutputStreamName: 'mixout',
      OutputStreamType: 1,
      OutputStreamBitRate: 600,
      OutputStreamFrameRate: 20,
      OutputStreamGop: 2,
      OutputAudioSampleRate: 48000,
      OutputAudioChannels: 2,
    },
  };
}

describe('mixed recording (CreateCommonMixStream), custom layout', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;
  let client: LiveClient;
  let mp4: string;
  let hls: string;
  /** Wall-clock ms of the mix's creation, of its layout swap, and of its output's first media. */
  let created = 0;
  let swapped = 0;
  let outputStart = 0;
  const mixFiles = () => receiver.bodies.filter((b) => b.event_type === 100 && b.stream_id === 'mixout');
  /** Seconds into the output of a wall-clock time. */
  const at = (wallMs: number) => (wallMs - outputStart) / 1000;

  beforeAll(async () => {
    const [red, green, blue] = await Promise.all([
      colourFixture('red', 440),
      colourFixture('lime', 1000),
      colourFixture('blue', 2500),
    ]);
    receiver = await startCallbackReceiver();
    // Nothing is recorded by rule: the mix output is recorded by a StreamType 1 task.
    rec = await startRecorder({
      record: { auto: false, formats: ['hls', 'mp4'], hlsSegmentSeconds: 2 },
      callback: { url: receiver.url, domain: DOMAIN },
      api: { credentials: [KEY] },
    });
    client = liveClient(rec.recorder.httpPort, KEY, agent);
    const task = await client.CreateRecordTask({
      StreamName: 'mixout',
      AppName: 'live',
      DomainName: DOMAIN,
      EndTime: Math.floor(Date.now() / 1000) + 600,
      StreamType: 1,
    });
    expect(task.TaskId).toBeTruthy();
    // Accepted before any input publishes: their regions show the canvas until they come.
    created = Date.now();
    await client.CreateCommonMixStream(layout());
    const pushes = [push(red, rec.rtmpUrl('red'), 26), push(blue, rec.rtmpUrl('blue'), 26)];
    await sleep(5000);
    pushes.push(push(green, rec.rtmpUrl('green'), 10));
    await sleep(5000);
    swapped = Date.now();
    await client.CreateCommonMixStream(layout(true));
    await Promise.all(pushes.map((p) => p.exited));
    await client.CancelCommonMixStream({ MixStreamSessionId: 'room1001' });
    await receiver.waitFor((b) => b.event_type === 100 && b.stream_id === 'mixout', 2, 60_000);
    const fileOf = (format: string) => {
      const body = mixFiles().find((b) => b.file_format === format)!;
      return join(rec.dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
    };
    mp4 = fileOf('mp4');
    hls = fileOf('hls');
    outputStart = Number(mixFiles().find((b) => b.file_format === 'mp4')!.start_time) * 1000;
  }, 120_000);

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
    agent.destroy();
  });

  it('the output is one stream recorded once: one MP4 and one HLS playlist, events 1 and 0 for it', async () => {
    expect(
      mixFiles()
        .map((b) => b.file_format)
        .sort(),
    ).toEqual(['hls', 'mp4']);
    const events = receiver.bodies.filter((b) => b.stream_id === 'mixout').map((b) => b.event_type);
    expect(events).toContain(1);
    await receiver.waitFor((b) => b.event_type === 0 && b.stream_id === 'mixout', 1, 10_000);
    expect(rec.recorder.mixes.sessions).toEqual([]);
  });

  it('has the size, frame rate and bitrate of OutputParams, and no gap over 1 s', async () => {
    const times = await videoTimes(mp4);
    expect(longestGap(times)).toBeLessThan(1);
    const seconds = times.at(-1)! - times[0]!;
    expect(seconds).toBeGreaterThan(20);
    // 20 fps: the frame count over the span (a join or a swap may drop a frame or two).
    expect(times.length / seconds).toBeGreaterThan(18);
    expect(times.length / seconds).toBeLessThan(21);
    const frame = await frameAt(mp4, 1, W, H);
    expect(frame.data.length).toBe(W * H * 3);
    const body = mixFiles().find((b) => b.file_format === 'mp4')!;
    const kbps = (Number(body.file_size) * 8) / 1000 / Number(body.duration);
    expect(kbps).toBeLessThan(600 * 1.3);
  });

  it('shows each input in its region by pixels: joined late, swapped, then gone; the canvas elsewhere', async () => {
    const look = async (file: string, t: number) => {
      const f = await frameAt(file, t, W, H);
      return {
        left: f.mean(0, 0, 320, 180),
        right: f.mean(320, 0, 320, 180),
        below: f.mean(0, 180, 320, 180),
        canvas: f.mean(320, 180, 320, 180),
      };
    };
    const beforeGreen = await look(mp4, at(created + 3500));
    expect(near(beforeGreen.left, RED), `left ${beforeGreen.left}`).toBe(true);
    expect(near(beforeGreen.right, GREY), `right before green joins ${beforeGreen.right}`).toBe(true);
    expect(near(beforeGreen.below, BLUE), `below ${beforeGreen.below}`).toBe(true);
    expect(near(beforeGreen.canvas, GREY), `canvas ${beforeGreen.canvas}`).toBe(true);
    const withGreen = await look(mp4, at(swapped - 1500));
    expect(near(withGreen.right, GREEN), `right with green ${withGreen.right}`).toBe(true);
    expect(near(withGreen.left, RED)).toBe(true);
    const afterSwap = await look(mp4, at(swapped + 2500));
    expect(near(afterSwap.left, GREEN), `left after the swap ${afterSwap.left}`).toBe(true);
    expect(near(afterSwap.right, RED), `right after the swap ${afterSwap.right}`).toBe(true);
    const afterGreen = await look(mp4, at(created + 21_000));
    expect(near(afterGreen.left, GREY), `left after green left ${afterGreen.left}`).toBe(true);
    expect(near(afterGreen.right, RED)).toBe(true);
    // The HLS recording holds the same picture.
    const hlsFrame = await look(hls, at(swapped + 2500));
    expect(near(hlsFrame.left, GREEN) && near(hlsFrame.right, RED) && near(hlsFrame.below, BLUE)).toBe(true);
  });

  it('mixes the sound of every heard input; the video-only input is not heard', async () => {
    const red = await toneLevel(mp4, 440);
    const green = await toneLevel(mp4, 1000, at(created + 8000), 3);
    const greenBefore = await toneLevel(mp4, 1000, at(created + 1500), 2);
    const blue = await toneLevel(mp4, 2500);
    expect(red).toBeGreaterThan(-35);
    expect(green).toBeGreaterThan(-35);
    expect(greenBefore, 'green before it joined').toBeLessThan(green - 20);
    expect(blue, 'blue is video only').toBeLessThan(Math.min(red, green) - 20);
  });
});
