import { describe, expect, it } from 'vitest';
import { videoFlags } from './rtmp-ingest.js';

describe('videoFlags', () => {
  it.each([
    ['H.264 sequence header', [0x17, 0, 0, 0, 0], { codecId: 7, isSequenceHeader: true, isKeyFrame: false }],
    ['H.264 keyframe', [0x17, 1, 0, 0, 0], { codecId: 7, isSequenceHeader: false, isKeyFrame: true }],
    ['H.264 inter frame', [0x27, 1, 0, 0, 0], { codecId: 7, isSequenceHeader: false, isKeyFrame: false }],
    [
      'HEVC id 12 sequence header',
      [0x1c, 0, 0, 0, 0],
      { codecId: 12, isSequenceHeader: true, isKeyFrame: false },
    ],
    ['HEVC id 12 keyframe', [0x1c, 1, 0, 0, 0], { codecId: 12, isSequenceHeader: false, isKeyFrame: true }],
    [
      'enhanced HEVC sequence start',
      [0x90, ...Buffer.from('hvc1')],
      { codecId: -1, fourcc: 'hvc1', enhanced: true, isSequenceHeader: true, isKeyFrame: false },
    ],
    [
      'enhanced AV1 keyframe',
      [0x91, ...Buffer.from('av01')],
      { codecId: -1, fourcc: 'av01', enhanced: true, isSequenceHeader: false, isKeyFrame: true },
    ],
    [
      'enhanced HEVC inter frame (CodedFramesX)',
      [0xa3, ...Buffer.from('hvc1')],
      { codecId: -1, fourcc: 'hvc1', isSequenceHeader: false, isKeyFrame: false },
    ],
  ])('%s', (_name, bytes, expected) => {
    expect(videoFlags(Buffer.from(bytes))).toMatchObject({ kind: 'video', ...expected });
  });
});
