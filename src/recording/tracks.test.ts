import { describe, expect, it } from 'vitest';
import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
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

describe('HEVC, AV1 and Opus, by what the ffmpeg reads', () => {
  const none: FfmpegCapabilities = {
    version: 'ffmpeg version 4.1',
    hevcEnhanced: false,
    hevcCodecId12: false,
    av1Enhanced: false,
    opusEnhanced: false,
  };
  const all: FfmpegCapabilities = {
    version: 'ffmpeg version 7.1',
    hevcEnhanced: true,
    hevcCodecId12: true,
    av1Enhanced: true,
    opusEnhanced: true,
  };
  const enhanced = (fourcc: string) =>
    packet('video', { codecId: -1, enhanced: true, fourcc, isSequenceHeader: true });
  const id12 = packet('video', { codecId: 12, isSequenceHeader: true });
  const frame = (p: MediaPacket) => ({ ...p, isSequenceHeader: false, isKeyFrame: true, dts: 40 });
  it.each([
    [
      'HEVC, enhanced',
      enhanced('hvc1'),
      'h265',
      /HEVC over enhanced RTMP needs .*6\.1.*ffmpeg version 4\.1 cannot/,
    ],
    ['HEVC, codec id 12', id12, 'h265', /HEVC as FLV codec id 12 needs .*6\.1.*ffmpeg version 4\.1 cannot/],
    ['AV1, enhanced', enhanced('av01'), 'av1', /AV1 over enhanced RTMP needs .*ffmpeg version 4\.1 cannot/],
  ] as const)(
    '%s: recorded as %s when ffmpeg reads it, refused with the version needed when not',
    (_n, header, codec, reason) => {
      const observed = seen(meta({ videocodecid: 12 }), header, frame(header));
      expect(decideTracks(observed, all)).toEqual({ video: { codec } });
      const refusal = decideTracks(observed, none);
      expect(refusal).toHaveProperty('unsupported');
      expect((refusal as { unsupported: string }).unsupported).toMatch(reason);
    },
  );
  it('VP9 over enhanced RTMP is refused by name, whatever the ffmpeg', () => {
    const vp9 = enhanced('vp09');
    expect(decideTracks(seen(meta({ videocodecid: 12 }), vp9, frame(vp9)), all)).toEqual({
      unsupported: expect.stringContaining('"vp09" is not recorded') as unknown as string,
    });
  });

  it('Opus over enhanced RTMP: recorded when ffmpeg reads it, refused with the version needed when not', () => {
    const opus = packet('audio', { codecId: 9, enhanced: true, fourcc: 'Opus', isSequenceHeader: true });
    const observed = seen(meta({ videocodecid: 7, audiocodecid: 9 }), avcHeader, opus, keyframe());
    expect(decideTracks(observed, all)).toEqual({ video: { codec: 'h264' }, audio: { codec: 'opus' } });
    expect((decideTracks(observed, none) as { unsupported: string }).unsupported).toMatch(
      /Opus over enhanced RTMP needs .*ffmpeg version 4\.1 cannot/,
    );
  });
});
