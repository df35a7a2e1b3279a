import { describe, expect, it } from 'vitest';
import { frameTimeline, keepsRealTime, nextConcurrency } from './mix-frames.js';

const at = (fps: number, indexes: number[]) => indexes.map((i) => Math.round((i / fps) * 1000) / 1000);

describe('frameTimeline', () => {
  it.each([
    { name: 'a whole run', times: at(15, [0, 1, 2, 3, 4, 5]), lost: 0, duplicated: 0, frames: 6 },
    { name: 'one gap of three frames', times: at(15, [0, 1, 2, 6, 7]), lost: 3, duplicated: 0, frames: 5 },
    { name: 'a repeated time', times: at(15, [0, 1, 1, 2]), lost: 0, duplicated: 1, frames: 4 },
    { name: 'out of order but whole', times: at(15, [2, 0, 1, 3]), lost: 0, duplicated: 0, frames: 4 },
    { name: 'nothing', times: [], lost: 0, duplicated: 0, frames: 0 },
  ])('$name', ({ times, lost, duplicated, frames }) => {
    expect(frameTimeline(times, 15)).toMatchObject({ lost, duplicated, frames });
  });

  it('says where the frames are missing', () => {
    expect(frameTimeline(at(10, [0, 1, 2, 5, 6, 9]), 10).gaps).toEqual([
      { at: 0.2, frames: 2 },
      { at: 0.6, frames: 2 },
    ]);
  });

  it('tolerates millisecond rounding of a 15 fps time line', () => {
    // 66.7 ms intervals stamped as 66 and 67.
    const times = [0, 0.066, 0.133, 0.2, 0.266, 0.333];
    expect(frameTimeline(times, 15)).toMatchObject({ lost: 0, duplicated: 0 });
    expect(frameTimeline(times, 15).fps).toBeCloseTo(15, 0);
  });
});

describe('keepsRealTime', () => {
  it.each([
    { fps: 15, lagGrowthMs: 40, ok: true },
    { fps: 14.2, lagGrowthMs: 40, ok: false },
    { fps: 15, lagGrowthMs: 900, ok: false },
  ])('$fps fps, lag +$lagGrowthMs ms: $ok', ({ fps, lagGrowthMs, ok }) => {
    expect(keepsRealTime({ fps, lagGrowthMs }, 15)).toBe(ok);
  });
});

describe('nextConcurrency', () => {
  it.each([
    { held: [], failed: [], next: 1 },
    { held: [1], failed: [], next: 2 },
    { held: [1, 2, 4], failed: [], next: 8 },
    { held: [1, 2, 4, 8], failed: [], next: 12 },
    { held: [1, 2, 4], failed: [8], next: 6 },
    { held: [1, 2, 4, 6], failed: [8], next: 7 },
    { held: [1, 2, 4, 6, 7], failed: [8], next: undefined },
    { held: [], failed: [1], next: undefined },
    { held: [1, 2, 4, 8, 12], failed: [], next: undefined },
  ])('held $held, failed $failed: $next', ({ held, failed, next }) => {
    expect(nextConcurrency(held, failed, 12)).toBe(next);
  });
});
