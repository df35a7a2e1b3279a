import { describe, expect, it } from 'vitest';
import { InvalidStateError } from '../shared/errors.js';
import { OUTPUTS } from './outputs/index.js';
import { continuesRecording, resumeTimeLeft } from './resume-window.js';
import { buildRunArgs } from './run-args.js';
import { parseSegmentListLine } from './segment-list.js';
import { endedReason, isTerminal, transition } from './session-state.js';

describe('resume window', () => {
  const interrupted = { interruptedAt: 1_000_000, resumeTimeoutSeconds: 10 };
  it.each([
    [1_000_000 + 3_000, true],
    [1_000_000 + 10_000, true],
    [1_000_000 + 10_001, false],
  ])('a publish at %i continues: %s', (now, expected) => {
    expect(continuesRecording(interrupted, now)).toBe(expected);
  });
  it('a zero timeout never continues', () => {
    expect(continuesRecording({ interruptedAt: 5, resumeTimeoutSeconds: 0 }, 5)).toBe(false);
  });
  it('reports the time left', () => {
    expect(resumeTimeLeft(interrupted, 1_004_000)).toBe(6_000);
    expect(resumeTimeLeft(interrupted, 1_020_000)).toBe(0);
  });
});

describe('session state table', () => {
  it.each([
    ['starting', 'recording'],
    ['recording', 'interrupted'],
    ['interrupted', 'recording'],
    ['interrupted', 'finalizing'],
    ['finalizing', 'completed'],
  ] as const)('%s -> %s is allowed', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });
  it.each([
    ['completed', 'recording'],
    ['failed', 'finalizing'],
    ['interrupted', 'completed'],
    ['starting', 'interrupted'],
  ] as const)('%s -> %s throws', (from, to) => {
    expect(() => transition(from, to)).toThrow(InvalidStateError);
  });
  it('completed and failed are terminal', () => {
    expect(isTerminal('completed') && isTerminal('failed') && !isTerminal('interrupted')).toBe(true);
  });
});

describe('segment list lines', () => {
  it.each([
    ['mp4_00000.mp4,0.000000,10.022969', { file: 'mp4_00000.mp4', startSeconds: 0, endSeconds: 10.022969 }],
    ['"hls_000007.ts",28.023,30.023', { file: 'hls_000007.ts', startSeconds: 28.023, endSeconds: 30.023 }],
    ['mp4_00000.mp4,0.0', null],
    ['', null],
  ])('%j', (line, expected) => {
    expect(parseSegmentListLine(line)).toEqual(expected);
  });
});

describe('ffmpeg run arguments', () => {
  const av = { video: { codec: 'h264' as const }, audio: { codec: 'aac' as const } };
  const specs = (['hls', 'mp4', 'flv', 'aac'] as const).map((format) => ({
    format,
    dir: '/w',
    segmentSeconds: format === 'hls' ? 4 : 1800,
    startNumber: format === 'hls' ? 7 : 0,
  }));
  const args = buildRunArgs(av, specs);

  it('reads FLV from stdin and never re-encodes', () => {
    expect(args.slice(args.indexOf('-i'), args.indexOf('-i') + 2)).toEqual(['-i', 'pipe:0']);
    const codecs = args.flatMap((a, i) => (a.startsWith('-c') ? [args[i + 1]] : []));
    expect(codecs).toEqual(['copy', 'copy', 'copy', 'copy']);
    expect(args.join(' ')).not.toMatch(/libx264|-c:v (?!copy)|-b:v/);
  });

  it('writes one segment list per format', () => {
    for (const format of ['hls', 'mp4', 'flv', 'aac']) expect(args).toContain(`/w/${format}.csv`);
  });

  it('continues HLS numbering and splits by the configured times', () => {
    const hls = args.indexOf('/w/hls.csv');
    expect(args.slice(hls - 5, hls - 1)).toEqual(['-segment_time', '4', '-segment_start_number', '7']);
    expect(args.filter((a) => a === '1800')).toHaveLength(3);
  });

  it('AAC maps only the audio track, and other formats only the tracks present', () => {
    const audioOnly = buildRunArgs({ audio: { codec: 'aac' } }, specs);
    expect(audioOnly.filter((a) => a === '0:v:0')).toHaveLength(0);
    expect(args.filter((a) => a === '0:v:0')).toHaveLength(3);
  });

  it('MP4 is fragmented while recording and faststart once closed', () => {
    expect(args.join(' ')).toContain('movflags=+frag_keyframe+empty_moov+delay_moov+default_base_moof');
    expect(OUTPUTS.mp4.finalizeArgs('in.mp4', 'out.mp4')).toContain('+faststart');
    expect(OUTPUTS.flv.finalizeArgs('in.flv', 'out.flv')).toContain('add_keyframe_index');
    expect(OUTPUTS.aac.supports({ video: { codec: 'h264' } })).toMatch(/no audio/);
    expect(OUTPUTS.aac.supports({ audio: { codec: 'mp3' } })).toMatch(/not AAC/);
  });
});

describe('record_ended reason', () => {
  it.each([
    [1, 0, 'recording ended; 1 file queued for storage'],
    [3, 0, 'recording ended; 3 files queued for storage'],
    [2, 1, 'recording ended; 2 files queued for storage, 1 file could not be queued'],
    [0, 2, 'recording ended; 0 files queued for storage, 2 files could not be queued'],
  ])('%i queued, %i failed: %s', (queued, failed, text) => {
    expect(endedReason(queued, failed)).toBe(text);
  });
});
