import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMESTAMP_POLICY,
  TimestampRepairer,
  type TimestampPolicy,
  type TimestampRepair,
  type Track,
} from './timestamps.js';

const VIDEO_MS = 40;
const AUDIO_MS = 1024 / 44.1;

interface Sent {
  track: Track;
  /** Wall time of the frame at the source: when it arrives, and its true media time. */
  at: number;
  raw: number;
  out: number;
}

/**
 * A push of `seconds`, 25 fps video and 44.1 kHz AAC, each frame arriving at its true time (plus `pauseAt`'s
 * pause), with the raw dts the publisher stamps on it given by `stamp`.
 */
function push(
  seconds: number,
  stamp: (track: Track, at: number) => number,
  options: { policy?: TimestampPolicy; audioFrom?: number; pause?: { at: number; ms: number } } = {},
): { sent: Sent[]; repairs: TimestampRepair[]; repairer: TimestampRepairer } {
  const frames: { track: Track; at: number }[] = [];
  for (let t = 0; t < seconds * 1000; t += VIDEO_MS) frames.push({ track: 'video', at: t });
  for (let t = options.audioFrom ?? 0; t < seconds * 1000; t += AUDIO_MS)
    frames.push({ track: 'audio', at: t });
  frames.sort((a, b) => a.at - b.at || (a.track === 'video' ? -1 : 1));
  const repairer = new TimestampRepairer(options.policy);
  const sent: Sent[] = [];
  const repairs: TimestampRepair[] = [];
  const pause = options.pause;
  for (const frame of frames) {
    if (pause && frame.at >= pause.at && frame.at < pause.at + pause.ms) continue;
    const raw = Math.round(stamp(frame.track, frame.at));
    const { dts, repair } = repairer.map(frame.track, raw, frame.at);
    if (repair) repairs.push(repair);
    sent.push({ ...frame, raw, out: dts });
  }
  return { sent, repairs, repairer };
}

const of = (sent: Sent[], track: Track) => sent.filter((s) => s.track === track);
/** How far each frame's output dts is from its true media time, ms: 0 everywhere for a perfect repair. */
const errors = (sent: Sent[]) => sent.map((s) => s.out - s.at);
const increasing = (values: number[]) => values.every((v, i) => i === 0 || v > values[i - 1]!);

describe('TimestampRepairer', () => {
  it('leaves good timestamps alone, rebased to start at 0', () => {
    const { sent, repairs } = push(10, (_t, at) => 90_000 + at);
    expect(repairs).toEqual([]);
    for (const e of errors(sent)) expect(Math.abs(e)).toBeLessThanOrEqual(1);
  });

  it.each([
    ['a +30 s forward jump at 5 s', (at: number) => (at >= 5000 ? at + 30_000 : at), 'jump'],
    ['a reset to 0 at 6 s', (at: number) => (at >= 6000 ? at - 6000 : at), 'reset'],
    ['a step back of 3 s at 4 s', (at: number) => (at >= 4000 ? at - 3000 : at), 'reset'],
  ] as const)('%s of both tracks: continuous, in sync, one offset for both', (_name, clock, kind) => {
    const { sent, repairs } = push(10, (_t, at) => clock(at));
    expect(repairs.map((r) => [r.kind, r.track])).toEqual([
      [kind, 'video'],
      [kind, 'audio'],
    ]);
    // Both tracks moved by the same offset.
    expect(repairs[0]!.sizeMs).toBe(repairs[1]!.sizeMs);
    for (const track of ['video', 'audio'] as const) {
      const outs = of(sent, track).map((s) => s.out);
      expect(increasing(outs), track).toBe(true);
      // Within a frame of true media time, everywhere.
      for (const e of errors(of(sent, track))) expect(Math.abs(e), track).toBeLessThanOrEqual(VIDEO_MS + 1);
    }
    const lastVideo = of(sent, 'video').at(-1)!.out;
    expect(lastVideo).toBeGreaterThan(9_900);
    expect(lastVideo).toBeLessThan(10_100);
  });

  it('a reset of the audio track alone moves audio only', () => {
    const { sent, repairs } = push(10, (track, at) => (track === 'audio' && at >= 6000 ? at - 6000 : at));
    expect(repairs.map((r) => [r.kind, r.track])).toEqual([['reset', 'audio']]);
    for (const e of errors(of(sent, 'video'))) expect(Math.abs(e)).toBeLessThanOrEqual(1);
    for (const e of errors(of(sent, 'audio'))) expect(Math.abs(e)).toBeLessThanOrEqual(VIDEO_MS);
  });

  it('a real pause (nothing sent for 5 s) is kept as media time, not repaired', () => {
    const { sent, repairs } = push(12, (_t, at) => at, { pause: { at: 4000, ms: 5000 } });
    expect(repairs).toEqual([]);
    for (const e of errors(sent)) expect(Math.abs(e)).toBeLessThanOrEqual(1);
    expect(of(sent, 'video').at(-1)!.out).toBeGreaterThan(11_900);
  });

  it('a wrap of the 32-bit clock continues with no step, by exactly 2^32', () => {
    const start = 2 ** 32 - 5000;
    const { sent, repairs } = push(10, (_t, at) => (start + at) % 2 ** 32);
    expect(repairs.map((r) => [r.kind, r.track, r.sizeMs])).toEqual([
      ['wrap', 'video', 2 ** 32],
      ['wrap', 'audio', 2 ** 32],
    ]);
    for (const e of errors(sent)) expect(Math.abs(e)).toBeLessThanOrEqual(1);
  });

  it('audio that starts 2 s after video keeps its offset', () => {
    const { sent, repairs } = push(6, (_t, at) => at, { audioFrom: 2000 });
    expect(repairs).toEqual([]);
    expect(of(sent, 'audio')[0]!.out).toBe(2000);
    expect(of(sent, 'video')[0]!.out).toBe(0);
  });

  it('a late track on an unrelated clock is placed where the other track stands', () => {
    const { sent, repairs } = push(6, (track, at) => (track === 'audio' ? at - 2000 + 777_000 : at), {
      audioFrom: 2000,
    });
    expect(repairs.map((r) => [r.kind, r.track])).toEqual([['start', 'audio']]);
    for (const e of errors(of(sent, 'audio'))) expect(Math.abs(e)).toBeLessThanOrEqual(VIDEO_MS + 1);
  });

  it.each([
    ['late by jitter (90 ms after the frame before)', 90, 40],
    ['after a real stall of 2 s', 2000, 2000],
  ])('a jump whose frame arrives %s continues by %i ms', (_name, gap, step) => {
    const r = new TimestampRepairer();
    for (let i = 0; i < 10; i++) r.map('video', i * VIDEO_MS, i * VIDEO_MS);
    const last = 9 * VIDEO_MS;
    const jumped = r.map('video', last + 30_000, last + gap);
    expect(jumped.repair?.kind).toBe('jump');
    expect(jumped.dts - last).toBe(step);
  });

  it('with repair off, timestamps only start at 0', () => {
    const policy = { ...DEFAULT_TIMESTAMP_POLICY, repair: false };
    const { sent, repairs } = push(10, (_t, at) => (at >= 5000 ? at + 30_000 : at), { policy });
    expect(repairs).toEqual([]);
    expect(of(sent, 'video').at(-1)!.out).toBeGreaterThan(39_000);
  });

  it('headers resent at a reset are placed at their track’s time, never behind it', () => {
    const r = new TimestampRepairer();
    expect(r.map('video', 5000, 0, true).dts).toBe(0);
    expect(r.map('video', 5000, 0).dts).toBe(0);
    expect(r.map('video', 5040, 40).dts).toBe(40);
    expect(r.map('video', 0, 80, true).dts).toBe(40);
    expect(r.map('script', 0, 80).dts).toBe(40);
    const keyframe = r.map('video', 0, 80);
    expect(keyframe.repair?.kind).toBe('reset');
    expect(keyframe.dts).toBe(80);
  });

  it.each([
    [0.001, 600],
    [-0.002, 300],
  ])(
    'audio whose clock runs %d fast for %i s stays within maxDriftMs of video (video is the master)',
    (rate, seconds) => {
      const { sent, repairs, repairer } = push(seconds, (track, at) =>
        track === 'audio' ? at * (1 + rate) : at,
      );
      const drifted = Math.abs(rate * seconds * 1000);
      const offsetAt = (i: number) => of(sent, 'audio').at(i)!.out - of(sent, 'audio').at(i)!.at;
      expect(Math.abs(offsetAt(-1)), `${drifted} ms drifted`).toBeLessThanOrEqual(
        DEFAULT_TIMESTAMP_POLICY.maxDriftMs + 10,
      );
      expect(Math.abs(offsetAt(0))).toBeLessThanOrEqual(1);
      expect(repairs.some((r) => r.kind === 'drift')).toBe(true);
      expect(Math.abs(repairer.slewedMs)).toBeGreaterThan(drifted - 60);
      expect(increasing(of(sent, 'audio').map((s) => s.out))).toBe(true);
      // Video is never slewed.
      for (const e of errors(of(sent, 'video'))) expect(Math.abs(e)).toBeLessThanOrEqual(1);
    },
  );

  it.each([
    ['corrected (the default)', DEFAULT_TIMESTAMP_POLICY, 0.001, 40, 55],
    [
      'not corrected (maxDriftMs 0): the whole drift',
      { ...DEFAULT_TIMESTAMP_POLICY, maxDriftMs: 0 },
      0.001,
      570,
      601,
    ],
    ['repair off: still measured', { ...DEFAULT_TIMESTAMP_POLICY, repair: false }, -0.001, 570, 601],
    ['clocks that agree', DEFAULT_TIMESTAMP_POLICY, 0, 0, 2],
  ])('maxAvOffsetMs is the largest A/V drift measured, %s', (_name, policy, rate, least, most) => {
    const { repairer } = push(600, (track, at) => (track === 'audio' ? at * (1 + rate) : at), { policy });
    expect(repairer.maxAvOffsetMs).toBeGreaterThanOrEqual(least);
    expect(repairer.maxAvOffsetMs).toBeLessThanOrEqual(most);
  });

  it('maxAvOffsetMs is unknown before the warm-up, and without both tracks', () => {
    const fast = (track: Track, at: number) => (track === 'audio' ? at * 1.01 : at);
    expect(push(9, fast).repairer.maxAvOffsetMs).toBeUndefined();
    expect(push(12, fast).repairer.maxAvOffsetMs).toBeGreaterThan(0);
    const videoOnly = new TimestampRepairer();
    for (let t = 0; t < 30_000; t += VIDEO_MS) videoOnly.map('video', t, t);
    expect(videoOnly.maxAvOffsetMs).toBeUndefined();
  });

  it('a late start or a fixed encoder delay is not an A/V offset: drift is measured from the first offset', () => {
    const { repairer } = push(30, (track, at) => (track === 'audio' ? at + 300 : at), { audioFrom: 2000 });
    expect(repairer.maxAvOffsetMs).toBeLessThanOrEqual(2);
  });

  it('no drift correction when the clocks agree, however the arrival jitters', () => {
    let seed = 7;
    const jitter = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 30;
    const repairer = new TimestampRepairer();
    const repairs: TimestampRepair[] = [];
    for (let t = 0; t < 120_000; t += 20) {
      for (const track of ['video', 'audio'] as const) {
        const { repair } = repairer.map(track, t, t + jitter());
        if (repair) repairs.push(repair);
      }
    }
    expect(repairs).toEqual([]);
  });

  it.each([
    ['no drift, no correction', 0, 0],
    ['audio 1.5 % fast, held within maxDriftMs', 0.015, 600],
  ])(
    'an event loop that stalls 600 ms every 3 s (packets then arrive in a burst): %s',
    (_name, rate, drifted) => {
      // What arrives during a stall is handed over together when it ends.
      const arrival = (at: number) => (at % 3000 < 600 ? at - (at % 3000) + 600 : at);
      const { sent } = push(40, (track, at) => (track === 'audio' ? at * (1 + rate) : at));
      const replay = new TimestampRepairer();
      const outs = sent.map((s) => ({ ...s, out: replay.map(s.track, s.raw, arrival(s.at)).dts }));
      const last = of(outs, 'audio').at(-1)!;
      expect(Math.abs(last.out - last.at), `${drifted} ms drifted`).toBeLessThanOrEqual(
        DEFAULT_TIMESTAMP_POLICY.maxDriftMs + 10,
      );
      if (!rate) expect(replay.slewedMs).toBe(0);
    },
  );
});
