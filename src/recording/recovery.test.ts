import { describe, expect, it } from 'vitest';
import { parseSegmentLines, type JournalContents } from './journal.js';
import { planRecovery, type RunListing } from './recovery.js';

const T0 = 1_700_000_000_000;
const T1 = T0 + 60_000;

function journal(segments: JournalContents['segments']): JournalContents {
  return {
    data: {
      version: 1,
      identity: {
        recordingId: 'r1',
        app: 'live',
        stream: 's',
        nameId: 's',
        host: 'h',
        query: '',
        mediaStartMs: T0,
      },
      formats: ['hls', 'mp4'],
      hlsSegmentSeconds: 2,
      runs: [
        { index: 0, firstMediaWallMs: T0 },
        { index: 1, firstMediaWallMs: T1 },
      ],
      head: { head: 's_head', disambiguator: 0 },
    },
    segments,
  };
}

function run(index: number, files: Record<string, number>, lists: RunListing['lists'] = {}): RunListing {
  return {
    index,
    dir: `/w/run-${index}`,
    firstMediaWallMs: index === 0 ? T0 : T1,
    files: Object.entries(files).map(([name, size]) => ({ name, size })),
    lists,
  };
}

const seg = (run: number, seq: number, startMs: number) => ({
  run,
  seq,
  uri: `s_head_${seq}.ts`,
  startMs,
  durationSeconds: 2,
  discontinuity: run === 1 && seq === 2,
  size: 100,
});

describe('planRecovery', () => {
  it('keeps journaled segments in order, queues the local ones again, and adds the unjournaled ones after', () => {
    const plan = planRecovery(
      journal([seg(0, 0, T0), seg(0, 1, T0 + 2000)]),
      [
        run(
          0,
          { 'hls_000000.seg': 0, 'hls_000001.seg': 100, 'hls_000002.seg': 50 },
          {
            hls: [{ file: 'hls_000002.seg', startSeconds: 4, endSeconds: 6 }],
          },
        ),
        run(1, { 'hls_000003.seg': 70 }),
      ],
      () => false,
    );
    expect(
      plan.segments.map((s) => [s.seq, s.path, s.journaled, s.durationSeconds, s.discontinuity]),
    ).toEqual([
      [0, undefined, true, 2, false],
      [1, '/w/run-0/hls_000001.seg', true, 2, false],
      [2, '/w/run-0/hls_000002.seg', false, 2, false],
      // Never closed: measured later; a new run after the last one: a discontinuity.
      [3, '/w/run-1/hls_000003.seg', false, undefined, true],
    ]);
    expect(plan.segments[2]!.startMs).toBe(T0 + 4000);
    expect(plan.segments[3]!.startMs).toBe(T1);
  });

  it('finishes closed and unclosed parts from their run times, and leaves queued files to the queue', () => {
    const plan = planRecovery(
      journal([]),
      [
        run(
          0,
          { 'mp4_00000.mp4': 10, 'mp4_00001.mp4': 10, 'mp4_00002.mp4': 0 },
          {
            mp4: [{ file: 'mp4_00000.mp4', startSeconds: 0, endSeconds: 30 }],
          },
        ),
        run(1, { 'mp4_00000.mp4': 10 }),
      ],
      (path) => path === '/w/run-1/mp4_00000.mp4',
    );
    expect(plan.parts).toEqual([
      { format: 'mp4', path: '/w/run-0/mp4_00000.mp4', startMs: T0, endMs: T0 + 30_000, finalized: false },
      {
        format: 'mp4',
        path: '/w/run-0/mp4_00001.mp4',
        startMs: T0 + 30_000,
        endMs: undefined,
        finalized: false,
      },
    ]);
    expect(plan.remove).toEqual(['/w/run-0/mp4_00002.mp4']);
  });

  it('queues a remuxed file whose work file is gone, and redoes a remux the crash cut short', () => {
    const plan = planRecovery(
      journal([]),
      [
        run(
          0,
          { 'mp4_00000.mp4.final.mp4': 10, 'mp4_00001.mp4': 10, 'mp4_00001.mp4.final.mp4': 3 },
          {
            mp4: [
              { file: 'mp4_00000.mp4', startSeconds: 0, endSeconds: 30 },
              { file: 'mp4_00001.mp4', startSeconds: 30, endSeconds: 40 },
            ],
          },
        ),
      ],
      () => false,
    );
    expect(plan.remove).toEqual(['/w/run-0/mp4_00001.mp4.final.mp4']);
    expect(plan.parts).toEqual([
      {
        format: 'mp4',
        path: '/w/run-0/mp4_00001.mp4',
        startMs: T0 + 30_000,
        endMs: T0 + 40_000,
        finalized: false,
      },
      {
        format: 'mp4',
        path: '/w/run-0/mp4_00000.mp4.final.mp4',
        startMs: T0,
        endMs: T0 + 30_000,
        finalized: true,
      },
    ]);
  });

  it('ignores a run the journal never named (no ffmpeg wrote in it)', () => {
    const listing = { ...run(0, { 'mp4_00000.mp4': 10 }), firstMediaWallMs: undefined };
    expect(planRecovery(journal([]), [listing], () => false)).toEqual({
      remove: [],
      parts: [],
      segments: [],
    });
  });
});

describe('parseSegmentLines', () => {
  it('drops a line a crash cut short, and what follows it', () => {
    const whole = JSON.stringify(seg(0, 0, T0));
    expect(parseSegmentLines(`${whole}\n${whole.slice(0, 20)}`)).toHaveLength(1);
    expect(parseSegmentLines(`${whole}\n{"run":0}\n${whole}\n`)).toHaveLength(1);
  });

  it('keeps a segment’s SHA-256, and reads the lines of older versions without one', () => {
    const sha256 = 'ab'.repeat(32);
    const lines = [{ ...seg(0, 0, T0), sha256 }, seg(0, 1, T0 + 2000)].map((l) => JSON.stringify(l));
    const parsed = parseSegmentLines(lines.join('\n'));
    expect(parsed.map((s) => s.sha256)).toEqual([sha256, undefined]);
    // Carried into the plan, so a playlist recovered after a crash names each stored segment's digest.
    const plan = planRecovery(journal(parsed), [run(0, {})], () => false);
    expect(plan.segments.map((s) => s.sha256)).toEqual([sha256, undefined]);
  });
});
