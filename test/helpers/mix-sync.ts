// The sync-and-latency scenario of a mix, shared by its test (short) and scripts/mix-sync.mjs (10 minutes).
import { Agent } from 'node:http';
import { join } from 'node:path';
import { startCallbackReceiver } from './callback-receiver.js';
import { liveClient } from './mix.js';
import { startRecorder } from './recorder.js';
import {
  beepOnsets,
  flashFixture,
  flashOnsets,
  lag,
  offsetDrift,
  pairOffsets,
  median,
  playlistStartMs,
  pushLooped,
  startTime,
} from './sync.js';

export interface SyncFigures {
  seconds: number;
  /** Offset of input B against input A in the mix (s): at the start, and its largest departure from that. */
  video: { startOffset: number; drift: number; pairs: number };
  audio: { startOffset: number; drift: number; pairs: number };
  /** How far the mix's picture of input A trails input A's own recording, on the program date-time clock. */
  latencySeconds: number;
  latencyMatched: number;
}

const KEY = { secretId: 'AKIDrecorderMixSync01', secretKey: 'recorder-mix-sync-secret-001' };
const REGION_A = { x: 0, y: 90, width: 320, height: 180 };
const REGION_B = { x: 320, y: 90, width: 320, height: 180 };

/**
 * Two inputs that flash and beep on the same wall-clock seconds, the second starting 3 s after the first, mixed
 * side by side for `seconds`; the recordings are then read back for the offsets and the latency.
 */
export async function runMixSync(seconds: number): Promise<SyncFigures> {
  const [fileA, fileB] = await Promise.all([flashFixture(1000), flashFixture(3000)]);
  const receiver = await startCallbackReceiver();
  const rec = await startRecorder({
    record: { formats: ['hls'], hlsSegmentSeconds: 2 },
    callback: { url: receiver.url },
    api: { credentials: [KEY] },
  });
  const agent = new Agent();
  try {
    const client = liveClient(rec.recorder.httpPort, KEY, agent);
    const region = (r: typeof REGION_A) => ({
      ImageWidth: r.width,
      ImageHeight: r.height,
      LocationX: r.x,
      LocationY: r.y,
    });
    await client.CreateCommonMixStream({
      MixStreamSessionId: 'sync',
      InputStreamList: [
        {
          InputStreamName: 'canvas',
          LayoutParams: { ImageLayer: 1, InputType: 3, ImageWidth: 640, ImageHeight: 360, Color: '0x202020' },
        },
        { InputStreamName: 'syncA', LayoutParams: { ImageLayer: 2, ...region(REGION_A) } },
        { InputStreamName: 'syncB', LayoutParams: { ImageLayer: 3, ...region(REGION_B) } },
      ],
      OutputParams: { OutputStreamName: 'syncout', OutputStreamType: 1, OutputStreamFrameRate: 25 },
    });
    // Both start on a whole wall-clock second, so their flashes fall on the same seconds.
    const second = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    await sleepUntil(second);
    const a = pushLooped(fileA, rec.rtmpUrl('syncA'), seconds);
    await sleepUntil(second + 3000);
    const b = pushLooped(fileB, rec.rtmpUrl('syncB'), seconds - 3);
    await Promise.all([a.exited, b.exited]);
    await client.CancelCommonMixStream({ MixStreamSessionId: 'sync' });
    const playlists = await receiver.waitFor(
      (body) => body.event_type === 100 && (body.stream_id === 'syncout' || body.stream_id === 'syncA'),
      2,
      120_000,
    );
    const pathOf = (stream: string) => {
      const body = playlists.find((p) => p.stream_id === stream)!;
      return join(rec.dataDir, decodeURIComponent(new URL(String(body.video_url)).pathname));
    };
    const out = pathOf('syncout');
    const input = pathOf('syncA');

    const [flashA, flashB] = await flashOnsets(out, { width: 640, height: 360 }, [REGION_A, REGION_B]);
    const video = pairOffsets(flashA!, flashB!);
    const audio = pairOffsets(await beepOnsets(out, 1000), await beepOnsets(out, 3000));

    const wall = async (file: string, onsets: readonly number[]) => {
      const [pdt, start] = [await playlistStartMs(file), await startTime(file)];
      return onsets.map((t) => pdt / 1000 + (t - start));
    };
    const [own] = await flashOnsets(input, { width: 320, height: 240 }, [
      { x: 0, y: 0, width: 320, height: 240 },
    ]);
    const latency = lag(await wall(input, own!), await wall(out, flashA!));
    return {
      seconds,
      video: { startOffset: median(video.slice(0, 5)), drift: offsetDrift(video), pairs: video.length },
      audio: { startOffset: median(audio.slice(0, 5)), drift: offsetDrift(audio), pairs: audio.length },
      latencySeconds: latency?.seconds ?? NaN,
      latencyMatched: latency?.matched ?? 0,
    };
  } finally {
    agent.destroy();
    await rec.stop();
    await receiver.close();
  }
}

function sleepUntil(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
}
