import { describe, expect, it } from 'vitest';
import type { MediaPacket } from '../ingest/index.js';
import { encodeTag, FlvTagReader, type FlvTag } from '../shared/flv.js';
import { InputFeed, placeholderClip } from './input-feed.js';

const tag = (type: 8 | 9, timestamp: number, bytes: number[]): FlvTag => ({
  type,
  timestamp,
  data: Buffer.from(bytes),
});
// A 2-frame clip: an AVC header, an AAC header, keyframe + frame at 0 and 40 ms, audio at 0 and 20 ms.
const CLIP = placeholderClip([
  tag(9, 0, [0x17, 0, 0, 0, 0, 0xaa]),
  tag(8, 0, [0xaf, 0, 0x11, 0x90]),
  tag(9, 0, [0x17, 1, 0, 0, 0, 0xa1]),
  tag(8, 0, [0xaf, 1, 0xa2, 0xa2]),
  tag(8, 20, [0xaf, 1, 0xa3, 0xa3]),
  tag(9, 40, [0x27, 1, 0, 0, 0, 0xa4]),
]);

function packet(
  kind: 'audio' | 'video',
  dts: number,
  bytes: number[],
  key = false,
  header = false,
): MediaPacket {
  return {
    kind,
    codecId: kind === 'video' ? 7 : 10,
    isSequenceHeader: header,
    isKeyFrame: key,
    enhanced: false,
    dts,
    tag: encodeTag(tag(kind === 'video' ? 9 : 8, dts, bytes)),
  };
}

function harness() {
  let now = 1000;
  const reader = new FlvTagReader();
  const out: FlvTag[] = [];
  const feed = new InputFeed({
    write: (bytes) => out.push(...reader.push(bytes)),
    placeholder: CLIP,
    clock: () => now,
    stallMs: 500,
    maxSkewMs: 1000,
  });
  return {
    feed,
    out,
    advance(ms: number) {
      for (let i = 0; i < ms / 10; i++) {
        now += 10;
        feed.tick();
      }
    },
    get now() {
      return now;
    },
  };
}

/** The last byte of each tag: which frame it is. */
const ids = (tags: readonly FlvTag[]) => tags.map((t) => t.data.at(-1)!.toString(16));

describe('InputFeed', () => {
  it('loops the placeholder at real-time pace, its headers first', () => {
    const h = harness();
    h.advance(200);
    expect(ids(h.out.slice(0, 2))).toEqual(['aa', '90']);
    const video = h.out.filter((t) => t.type === 9 && t.data[1] === 1);
    // 200 ms at a 40 ms loop of 2 frames: 5 loops, 10 frames, at 1000, 1040, 1080, ...
    expect(video.map((t) => t.timestamp).slice(0, 4)).toEqual([1000, 1040, 1080, 1120]);
    expect(video.length).toBeGreaterThanOrEqual(5);
    expect(video.at(-1)!.timestamp).toBeLessThanOrEqual(h.now);
  });

  it('takes the live video at a keyframe once released, placed by arrival; audio follows the video', () => {
    const h = harness();
    h.feed.onPublish([packet('video', 0, [0x17, 0, 0, 0, 0, 0xb0], true, true)]);
    h.feed.onPacket(packet('audio', 0, [0xaf, 0, 0x12, 0xb1], true, true));
    h.advance(100);
    h.feed.onPacket(packet('video', 5000, [0x17, 1, 0, 0, 0, 0xb2], true));
    expect(h.feed.live).toBe(false); // held until ffmpeg's graph is up
    h.feed.release();
    h.feed.onPacket(packet('audio', 5030, [0xaf, 1, 0xb3]));
    h.feed.onPacket(packet('video', 5040, [0x27, 1, 0, 0, 0, 0xb4]));
    expect(h.feed.live).toBe(false); // not a keyframe, and audio waits for the video
    const before = h.out.length;
    h.feed.onPacket(packet('video', 5080, [0x17, 1, 0, 0, 0, 0xb5], true));
    h.feed.onPacket(packet('audio', 5090, [0xaf, 1, 0xb6]));
    h.feed.onPacket(packet('video', 5120, [0x27, 1, 0, 0, 0, 0xb7]));
    const sent = h.out.slice(before);
    expect(ids(sent)).toEqual(['b0', 'b5', 'b1', 'b6', 'b7']);
    // The keyframe lands at the mix time it arrived; later frames keep their spacing.
    expect(sent[1]!.timestamp).toBe(h.now);
    expect(sent[4]!.timestamp).toBe(h.now + 40);
    // No more placeholder while live.
    const count = h.out.length;
    h.feed.tick();
    expect(h.out.length).toBe(count);
  });

  it('a stalled or ended live track gives way to the placeholder, its header first; timestamps never go back', () => {
    const h = harness();
    h.feed.release();
    h.feed.onPublish([packet('video', 0, [0x17, 0, 0, 0, 0, 0xb0], true, true)]);
    h.feed.onPacket(packet('video', 0, [0x17, 1, 0, 0, 0, 0xb1], true));
    h.feed.onPacket(packet('video', 900, [0x27, 1, 0, 0, 0, 0xb2])); // ahead of its arrival: kept in order
    const at = h.out.length;
    h.advance(1200);
    const after = h.out.slice(at).filter((t) => t.type === 9);
    expect(ids(after.slice(0, 2))).toEqual(['aa', 'a1']);
    // The placeholder goes on after the last live frame, not under it.
    expect(after[1]!.timestamp).toBeGreaterThan(1900);
    const times = h.out.filter((t) => t.type === 9).map((t) => t.timestamp);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    h.feed.onUnpublish();
    expect(h.feed.live).toBe(false);
  });
});
