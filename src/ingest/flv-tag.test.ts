import AVPacket from 'node-media-server/src/core/avpacket.js';
import Flv from 'node-media-server/src/protocol/flv.js';
import { describe, expect, it } from 'vitest';
import { encodeTag } from '../shared/flv.js';

describe("encodeTag, as the ingest builds each packet's tag", () => {
  it.each([
    [9, 0, 5000],
    [8, 1_234, 200],
    [18, 0x01_23_45_67, 64], // a timestamp past 24 bits: the extended byte
    [9, 40, 0],
  ] as const)(
    'builds the tag node-media-server would (type %i, dts %i, %i bytes), from a larger reused buffer',
    (type, dts, size) => {
      // The parser's buffer is larger than the packet and dirty past it; the pool under allocUnsafe is dirty too.
      const data = Buffer.alloc(size + 100, 0xaa);
      for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff;
      Buffer.allocUnsafe(size + 15).fill(0xee);
      const packet = new AVPacket();
      Object.assign(packet, { codec_type: type, dts, pts: dts, size, data });
      expect(encodeTag({ type, timestamp: dts, data: data.subarray(0, size) })).toEqual(
        Flv.createMessage(packet),
      );
    },
  );
});
