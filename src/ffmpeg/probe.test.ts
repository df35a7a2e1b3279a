import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { DropTsPid, parseProbeOutput } from './probe.js';

function packet(pid: number, fill: number): Buffer {
  const p = Buffer.alloc(188, fill);
  p[0] = 0x47;
  p[1] = (pid >> 8) & 0x1f;
  p[2] = pid & 0xff;
  return p;
}

describe('parseProbeOutput', () => {
  it('reads an MP4 with H.264 and AAC as Tencent MetaData wants it', () => {
    const probe = parseProbeOutput({
      format: {
        format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
        duration: '4.023000',
        size: '260509',
        bit_rate: '518039',
      },
      streams: [
        {
          codec_type: 'video',
          codec_name: 'h264',
          width: 320,
          height: 240,
          r_frame_rate: '25/1',
          avg_frame_rate: '174/7',
          bit_rate: '448136',
        },
        {
          codec_type: 'audio',
          codec_name: 'aac',
          sample_rate: '44100',
          r_frame_rate: '0/0',
          bit_rate: '64559',
        },
      ],
    });
    expect(probe).toEqual({
      size: 260509,
      duration: 4.023,
      container: 'mov,mp4,m4a,3gp,3g2,mj2',
      bitrate: 518039,
      width: 320,
      height: 240,
      videoStreams: [{ codec: 'h264', bitrate: 448136, width: 320, height: 240, fps: 25 }],
      audioStreams: [{ codec: 'aac', bitrate: 64559, samplingRate: 44100 }],
    });
  });

  it('reads audio only, and missing numbers as 0', () => {
    const probe = parseProbeOutput({
      format: { format_name: 'aac' },
      streams: [{ codec_type: 'audio', codec_name: 'aac' }],
    });
    expect(probe).toMatchObject({ width: 0, height: 0, duration: 0, bitrate: 0, videoStreams: [] });
    expect(probe.audioStreams).toEqual([{ codec: 'aac', bitrate: 0, samplingRate: 0 }]);
  });

  it('takes the average frame rate when the nominal one is a timebase', () => {
    const probe = parseProbeOutput({
      streams: [{ codec_type: 'video', r_frame_rate: '90000/1', avg_frame_rate: '30/1' }],
    });
    expect(probe.videoStreams[0]?.fps).toBe(30);
  });
});

describe('DropTsPid', () => {
  it('drops the packets of one PID across chunk boundaries and keeps the rest in order', async () => {
    const input = Buffer.concat([
      packet(0, 1),
      packet(0x11, 2),
      packet(0x100, 3),
      packet(0x11, 4),
      packet(0x101, 5),
    ]);
    const chunks = [input.subarray(0, 100), input.subarray(100, 500), input.subarray(500)];
    const out = await buffer(Readable.from(chunks).pipe(new DropTsPid(0x11)));
    expect(out).toEqual(Buffer.concat([packet(0, 1), packet(0x100, 3), packet(0x101, 5)]));
  });
});
