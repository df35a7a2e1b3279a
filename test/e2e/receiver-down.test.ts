import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { probe } from '../helpers/media.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

// Long enough for several retry rounds to fail against a closed port.
const DOWN_MS = 125_000;
const RETRY_SECONDS = 5;

let receiver: CallbackReceiver;
let rec: TestRecorder;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  rec = await startRecorder({
    record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 2, hlsResumeTimeoutSeconds: 2 },
    // Enough attempts that nothing dead-letters while the receiver is away.
    callback: { url: receiver.url, retryIntervalSeconds: RETRY_SECONDS, maxAttempts: 60, timeoutSeconds: 2 },
  });
});

afterAll(async () => {
  await rec?.stop();
  await receiver?.close();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  expect(line, `${name} in /metrics`).toBeDefined();
  return Number(line!.split(' ')[1]);
}

describe('callback receiver down for two minutes', () => {
  it('keeps every event while the receiver is down and delivers each exactly once after it returns', async () => {
    const { outbox, manager } = rec.recorder;
    await receiver.stop();
    const stoppedAt = Date.now();

    // A whole push records and ends while nobody answers.
    const pusher = publish(rec.rtmpUrl('rxdown'), { seconds: 8 });
    expect(await pusher.exited).toBe(0);
    await eventually(() => manager.sessions.length === 0, 60_000, 'the recording to end');
    const types = () => new Set(outbox.pending().map((r) => r.body.event_type));
    await eventually(
      () => [1, 0, 332, 100].every((t) => types().has(t)),
      30_000,
      'events 1, 0, 332, 100 queued',
    );

    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + DOWN_MS - Date.now())));
    const pending = outbox.pending();
    expect(receiver.received).toEqual([]);
    expect(outbox.dead()).toEqual([]);
    // Several rounds failed for the first events queued.
    expect(Math.max(...pending.map((r) => r.attempts))).toBeGreaterThanOrEqual(3);
    expect(await metric('recorder_callbacks_pending')).toBe(pending.length);

    await receiver.restart();
    await eventually(() => outbox.pending().length === 0, 60_000, 'the outbox to empty');
    expect(outbox.dead()).toEqual([]);
    expect(await metric('recorder_callbacks_pending')).toBe(0);
    expect(await metric('recorder_callbacks_dead')).toBe(0);

    // Each queued event arrived once, with the id in both header and body.
    const ids = receiver.received.map((r) => r.body.event_id);
    expect(ids.toSorted()).toEqual(pending.map((r) => r.id).toSorted());
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of receiver.received) expect(r.eventIdHeader).toBe(r.body.event_id);

    const bodies = receiver.received.map((r) => r.body).filter((b) => b.stream_id === 'rxdown');
    expect(bodies.length).toBe(receiver.received.length);
    const ofType = (t: number) => bodies.filter((b) => b.event_type === t);
    expect(ofType(1).length).toBe(1);
    expect(ofType(0).length).toBe(1);
    expect(ofType(0)[0]!.sequence).toBe(ofType(1)[0]!.sequence);
    const statuses = ofType(332).toSorted((a, b) => Number(a.seq) - Number(b.seq));
    expect(statuses.map((b) => b.record_event)).toEqual([
      'record_start_succeeded',
      'record_paused',
      'record_ended',
    ]);
    const files = ofType(100);
    expect(files.map((b) => b.file_format).toSorted()).toEqual(['hls', 'mp4']);
    // The files the late callbacks name are there and whole.
    for (const file of files) {
      const info = await probe(String(file.video_url));
      expect(Number(info.format.duration)).toBeGreaterThan(5);
    }
  }, 240_000);
});
