import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { RecordFormat } from '../../src/config/schema.js';
import { extensionOf } from '../../src/naming/names.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { GOP_SECONDS } from '../helpers/fixtures.js';
import { decode } from '../helpers/media.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const PUSH_SECONDS = 25;
const MAX_FILE_SECONDS = 10;
const FORMATS: RecordFormat[] = ['flv', 'mp4', 'aac'];

/** A callback's file span in Unix seconds, microseconds included. */
function spanOf(body: Record<string, unknown>): { start: number; end: number } {
  return {
    start: (body.start_time as number) + (body.start_time_usec as number) / 1e6,
    end: (body.end_time as number) + (body.end_time_usec as number) / 1e6,
  };
}

function baseNameOf(url: unknown): string {
  return decodeURIComponent(new URL(String(url)).pathname.split('/').at(-1)!);
}

describe('splitting by maxFileDurationSeconds', () => {
  let receiver: CallbackReceiver;
  let rec: TestRecorder;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: FORMATS, maxFileDurationSeconds: MAX_FILE_SECONDS },
      callback: { url: receiver.url },
    });
  });

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it(`a ${PUSH_SECONDS} s push with maxFileDurationSeconds ${MAX_FILE_SECONDS} gives 3 FLV, 3 MP4 and 3 AAC files`, async () => {
    const publisher = publish(rec.rtmpUrl('split1'), { seconds: PUSH_SECONDS });
    expect(await publisher.exited).toBe(0);

    const byFormat = new Map<RecordFormat, Record<string, unknown>[]>();
    for (const format of FORMATS) {
      byFormat.set(format, await receiver.waitFor((b) => b.file_format === format, 3, 60_000));
    }
    // Everything the recording will ever produce has been stored and announced.
    await eventually(
      () => rec.recorder.manager.sessions.length === 0 && rec.recorder.outbox.pending().length === 0,
      30_000,
      'the recording to finish and its callbacks to be delivered',
    );
    expect(receiver.bodies.filter((b) => b.event_type === 100)).toHaveLength(FORMATS.length * 3);

    const files = await rec.files();
    for (const format of FORMATS) {
      const ext = extensionOf(format);
      const onDisk = files.filter((f) => f.endsWith(`.${ext}`));
      expect(onDisk, `${format} files`).toHaveLength(3);

      const bodies = byFormat.get(format)!;
      expect(bodies).toHaveLength(3);
      expect(bodies.map((b) => b.stream_id)).toEqual(['split1', 'split1', 'split1']);
      // The callbacks announce exactly the files on disk.
      expect(bodies.map((b) => baseNameOf(b.video_url)).sort()).toEqual(onDisk);

      for (const file of onDisk) {
        const { errors, seconds } = await decode(join(rec.dataDir, 'live', file));
        expect(errors, `decoding ${file}`).toEqual([]);
        expect(seconds, `decoded duration of ${file}`).toBeGreaterThan(0);
        expect(seconds, `decoded duration of ${file}`).toBeLessThanOrEqual(
          MAX_FILE_SECONDS + GOP_SECONDS + 0.5,
        );
      }

      // The parts chain: no overlap, and no gap larger than one GOP.
      const spans = bodies.map(spanOf).sort((a, b) => a.start - b.start);
      for (const span of spans) expect(span.end).toBeGreaterThan(span.start);
      for (let i = 1; i < spans.length; i++) {
        const gap = spans[i]!.start - spans[i - 1]!.end;
        expect(gap, `${format} gap between part ${i - 1} and part ${i}`).toBeGreaterThanOrEqual(-0.1);
        expect(gap, `${format} gap between part ${i - 1} and part ${i}`).toBeLessThanOrEqual(GOP_SECONDS);
      }
      const total = spans.reduce((sum, s) => sum + (s.end - s.start), 0);
      expect(total, `${format} total duration`).toBeGreaterThanOrEqual(PUSH_SECONDS - 1.5);
      expect(total, `${format} total duration`).toBeLessThanOrEqual(PUSH_SECONDS + 1.5);
    }
  }, 150_000);
});
