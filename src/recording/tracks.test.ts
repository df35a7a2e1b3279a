import { describe, expect, it } from 'vitest';
import type { MediaPacket } from '../ingest/index.js';
import {
  LATE_VIDEO_WAIT_MS,
  TRACK_WAIT_MS,
  decideTracks,
  emptyObservation,
  observe,
  videoLeadMs,
} from './tracks.js';

function packet(kind: MediaPacket['kind'], fields: Partial<MediaPacket> = {}): MediaPacket {
  return {
    kind,
    codecId: kind === 'video' ? 7 : kind === 'audio' ? 10 : 0,
    isSequenceHeader: false,
    isKeyFrame: kind === 'audio',
    enhanced: false,
    dts: 0,
    tag: Buffer.alloc(0),
    ...fields,
  };
}

function seen(...packets: MediaPacket[]) {
  return packets.reduce(observe, emptyObservation());
}

const meta = (m: Record<string, unknown>) => packet('script', { metadata: m });
const avcHeader = packet('video', { isSequenceHeader: true });
const aacHeader = packet('audio', { isSequenceHeader: true });
const keyframe = (dts = 0) => packet('video', { isKeyFrame: true, dts });
const aacFrame = (dts = 0) => packet('audio', { dts });

describe('decideTracks', () => {
  it.each([
    [
      'both headers with metadata',
      [
        meta({ videocodecid: 7, audiocodecid: 10, width: 640, height: 360 }),
        avcHeader,
        aacHeader,
        keyframe(),
      ],
      { video: { codec: 'h264', width: 640, height: 360 }, audio: { codec: 'aac' } },
    ],
    ['audio-only metadata and header', [meta({ audiocodecid: 10 }), aacHeader], { audio: { codec: 'aac' } }],
    [
      'video-only metadata and header',
      [meta({ videocodecid: 7 }), avcHeader, keyframe()],
      { video: { codec: 'h264' } },
    ],
    [
      'no metadata, both headers',
      [avcHeader, aacHeader, keyframe()],
      { video: { codec: 'h264' }, audio: { codec: 'aac' } },
    ],
    ['mp3 audio', [meta({ audiocodecid: 2 }), packet('audio', { codecId: 2 })], { audio: { codec: 'mp3' } }],
  ])('%s', (_name, packets, expected) => {
    expect(decideTracks(seen(...packets))).toEqual(expected);
  });

  it('waits for a track the metadata announces', () => {
    expect(decideTracks(seen(meta({ videocodecid: 7, audiocodecid: 10 }), avcHeader))).toBe('wait');
  });

  it('gives up waiting for a missing track after a second of media', () => {
    const late = packet('video', { dts: TRACK_WAIT_MS, isKeyFrame: true });
    expect(decideTracks(seen(meta({ videocodecid: 7, audiocodecid: 10 }), avcHeader, late))).toEqual({
      video: { codec: 'h264' },
    });
  });

  it('refuses enhanced-RTMP video', () => {
    const hevc = packet('video', { codecId: -1, enhanced: true, isSequenceHeader: true });
    expect(decideTracks(seen(meta({ videocodecid: 12 }), hevc))).toEqual({
      unsupported: expect.stringContaining('enhanced-RTMP') as unknown as string,
    });
  });

  it('refuses video that is not H.264', () => {
    const vp6 = packet('video', { codecId: 4 });
    expect(decideTracks(seen(meta({ videocodecid: 4 }), vp6))).toHaveProperty('unsupported');
  });

  it('refuses audio that is neither AAC nor MP3', () => {
    const speex = packet('audio', { codecId: 11 });
    expect(decideTracks(seen(meta({ audiocodecid: 11 }), speex))).toHaveProperty('unsupported');
  });
});

describe('video that starts after audio', () => {
  const headers = [meta({ videocodecid: 7, audiocodecid: 10 }), avcHeader, aacHeader];
  it('waits for the first video frame while audio leads, then knows how far it trails', () => {
    const early = seen(...headers, aacFrame(0), aacFrame(1000), aacFrame(2000));
    expect(decideTracks(early)).toBe('wait');
    const late = observe(early, keyframe(2021));
    expect(decideTracks(late)).toEqual({ video: { codec: 'h264' }, audio: { codec: 'aac' } });
    expect(videoLeadMs(late)).toBe(2021);
  });
  it(`starts without it after ${LATE_VIDEO_WAIT_MS} ms of audio`, () => {
    expect(decideTracks(seen(...headers, aacFrame(0), aacFrame(LATE_VIDEO_WAIT_MS)))).toEqual({
      video: { codec: 'h264' },
      audio: { codec: 'aac' },
    });
  });
  it('video first: no lead', () => {
    expect(videoLeadMs(seen(...headers, keyframe(0), aacFrame(5)))).toBe(0);
  });
});
