// Fragmented MP4, as ffmpeg's mov muxer writes it with `frag_keyframe+empty_moov+default_base_moof` and a 1 s
// fragment cap: a moov with no samples, then moof+mdat pairs, so a file cut short plays up to its last fragment.

import type { ByteSink } from './byte-sink.js';
import { avCut, isFrame, type Container, type StreamState } from './containers.js';
import { readAudioBody, readVideoBody, type AacConfig, type VideoConfig } from './elementary.js';
import { pictureSize, type PictureSize } from './sps.js';

/** ffmpeg's `frag_duration=1000000`: a fragment ends at a keyframe, or at any frame once it holds 1 s. */
const FRAGMENT_MS = 1000;
const VIDEO_TIMESCALE = 90_000;
const MOVIE_TIMESCALE = 1000;

const SYNC_SAMPLE = 0x0200_0000; // sample_depends_on = 2 (depends on no other)
const NON_SYNC_SAMPLE = 0x0101_0000; // depends on others, sample_is_non_sync_sample

interface Sample {
  data: Buffer;
  /** Decoding time in the track's timescale, from the file's start. */
  dts: number;
  /** Composition offset (video). */
  cts: number;
  key: boolean;
}

interface Track {
  id: number;
  kind: 'video' | 'audio';
  timescale: number;
  samples: Sample[];
  /** The last sample's length, used for a fragment's last sample when the track's next one has not come. */
  lastDuration: number;
}

// Box building for the header, written once a file.
function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function zeros(n: number): Buffer {
  return Buffer.alloc(n);
}
function box(type: string, ...parts: Uint8Array[]): Buffer {
  const size = 8 + parts.reduce((sum, part) => sum + part.length, 0);
  return Buffer.concat([u32(size), Buffer.from(type, 'latin1'), ...parts]);
}
function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Buffer {
  return box(type, u32(((version & 0xff) << 24) | (flags & 0xffffff)), ...parts);
}
const MATRIX = Buffer.concat([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(u32));

/** An MPEG-4 descriptor: tag, length, payload. */
function descriptor(tag: number, ...parts: Uint8Array[]): Buffer {
  const payload = Buffer.concat(parts);
  const length = payload.length;
  const lengthBytes =
    length < 0x80
      ? [length]
      : [
          0x80 | ((length >> 21) & 0x7f),
          0x80 | ((length >> 14) & 0x7f),
          0x80 | ((length >> 7) & 0x7f),
          length & 0x7f,
        ];
  return Buffer.concat([Buffer.from([tag, ...lengthBytes]), payload]);
}

function videoEntry(config: VideoConfig, size: PictureSize): Buffer {
  return box(
    config.codec === 'h264' ? 'avc1' : 'hvc1',
    zeros(6),
    u16(1), // data_reference_index
    zeros(16),
    u16(size.width),
    u16(size.height),
    u32(0x00480000),
    u32(0x00480000), // 72 dpi
    zeros(4),
    u16(1), // frame_count
    zeros(32), // compressorname
    u16(0x18),
    u16(0xffff),
    box(config.codec === 'h264' ? 'avcC' : 'hvcC', config.record),
  );
}

function audioEntry(config: AacConfig, trackId: number): Buffer {
  const esds = fullBox(
    'esds',
    0,
    0,
    descriptor(
      0x03,
      u16(trackId),
      u8(0),
      descriptor(0x04, u8(0x40), u8(0x15), zeros(3), u32(0), u32(0), descriptor(0x05, config.record)),
      descriptor(0x06, u8(0x02)),
    ),
  );
  return box(
    'mp4a',
    zeros(6),
    u16(1),
    zeros(8),
    u16(config.channels || 2),
    u16(16),
    zeros(4),
    u32(Math.min(config.sampleRate, 0xffff) * 0x10000),
    esds,
  );
}

function trak(track: Track, entry: Buffer, width: number, height: number): Buffer {
  const video = track.kind === 'video';
  const tkhd = fullBox(
    'tkhd',
    0,
    3, // enabled, in movie
    zeros(8),
    u32(track.id),
    zeros(4),
    u32(0), // duration: the fragments say
    zeros(8),
    u16(0),
    u16(0),
    u16(video ? 0 : 0x0100),
    zeros(2),
    MATRIX,
    u32(width * 0x10000),
    u32(height * 0x10000),
  );
  const mdhd = fullBox('mdhd', 0, 0, zeros(8), u32(track.timescale), u32(0), u16(0x55c4), u16(0)); // 'und'
  const name = video ? 'VideoHandler' : 'SoundHandler';
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    u32(0),
    Buffer.from(video ? 'vide' : 'soun'),
    zeros(12),
    Buffer.from(`${name}\0`),
  );
  const header = video ? fullBox('vmhd', 0, 1, zeros(8)) : fullBox('smhd', 0, 0, zeros(4));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), entry),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', header, dinf, stbl)));
}

/** ftyp and the sample-less moov of a file holding these tracks. */
function fileHeader(tracks: Track[], stream: StreamState): Buffer {
  const ftyp = box(
    'ftyp',
    Buffer.from('isom'),
    u32(0x200),
    Buffer.from('isomiso2iso6mp41'),
    ...(stream.video?.codec === 'h264' ? [Buffer.from('avc1')] : []),
  );
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    zeros(8),
    u32(MOVIE_TIMESCALE),
    u32(0),
    u32(0x10000),
    u16(0x0100),
    zeros(10),
    MATRIX,
    zeros(24),
    u32(tracks.length + 1),
  );
  const traks = tracks.map((track) => {
    if (track.kind === 'audio') return trak(track, audioEntry(stream.aac!, track.id), 0, 0);
    const size = pictureSize(stream.video!) ?? { width: 0, height: 0 };
    return trak(track, videoEntry(stream.video!, size), size.width, size.height);
  });
  const trex = tracks.map((track) => fullBox('trex', 0, 0, u32(track.id), u32(1), u32(0), u32(0), u32(0)));
  return Buffer.concat([ftyp, box('moov', mvhd, ...traks, box('mvex', ...trex))]);
}

/**
 * MP4 work files, fragmented: each file's timestamps start at 0 (as `-reset_timestamps 1`), video at 90 kHz and
 * AAC at its sample rate. Samples are held until their fragment ends, then written as one moof+mdat (the samples
 * by reference, not copied); a kill loses at most the fragment in progress, as with ffmpeg. The finalize remux
 * (ffmpeg) makes the file faststart.
 */
export function fmp4Container(): Container & { end(sink: ByteSink): void } {
  let tracks: Track[] = [];
  let video: Track | undefined;
  let audio: Track | undefined;
  let sequence = 0;
  let fragmentStartMs: number | undefined;

  /** Writes the held samples as one fragment. `nextDts` is the next sample's time on `nextOf`'s track. */
  const writeFragment = (sink: ByteSink, nextOf?: Track, nextDts?: number): void => {
    const held = tracks.filter((track) => track.samples.length > 0);
    if (held.length === 0) return;
    const durations = held.map((track) => {
      const out: number[] = [];
      const { samples } = track;
      for (let i = 0; i + 1 < samples.length; i++)
        out.push(Math.max(0, samples[i + 1]!.dts - samples[i]!.dts));
      const last = samples.at(-1)!;
      const known = track === nextOf && nextDts !== undefined;
      if (known) track.lastDuration = Math.max(0, nextDts - last.dts);
      else if (out.length > 0) track.lastDuration = out.at(-1)!;
      out.push(track.lastDuration);
      return out;
    });
    const perSample = (track: Track) => (track.kind === 'video' ? 16 : 8);
    const trafSize = (track: Track) => 8 + 16 + 20 + 20 + track.samples.length * perSample(track);
    const moofSize = 8 + 16 + held.reduce((sum, track) => sum + trafSize(track), 0);
    const dataSize = held.reduce(
      (sum, track) => sum + track.samples.reduce((s, x) => s + x.data.length, 0),
      0,
    );
    let at = sink.reserve(moofSize + 8);
    const buf = sink.buffer;
    const put32 = (n: number) => {
      buf.writeUInt32BE(n >>> 0, at);
      at += 4;
    };
    const head = (size: number, type: string, versionFlags?: number) => {
      put32(size);
      buf.write(type, at, 'latin1');
      at += 4;
      if (versionFlags !== undefined) put32(versionFlags);
    };
    head(moofSize, 'moof');
    head(16, 'mfhd', 0);
    put32(++sequence);
    let dataOffset = moofSize + 8;
    held.forEach((track, t) => {
      const isVideo = track.kind === 'video';
      const negative = isVideo && track.samples.some((s) => s.cts < 0);
      head(trafSize(track), 'traf');
      head(16, 'tfhd', 0x020000); // default-base-is-moof
      put32(track.id);
      head(20, 'tfdt', 0x01000000);
      const base = track.samples[0]!.dts;
      put32(Math.floor(base / 0x1_0000_0000));
      put32(base % 0x1_0000_0000);
      // data offset, duration, size, and for video flags and composition offset (signed in version 1)
      head(
        20 + track.samples.length * perSample(track),
        'trun',
        ((negative ? 1 : 0) << 24) | (isVideo ? 0xf01 : 0x301),
      );
      put32(track.samples.length);
      put32(dataOffset);
      track.samples.forEach((sample, i) => {
        put32(durations[t]![i]!);
        put32(sample.data.length);
        if (isVideo) {
          put32(sample.key ? SYNC_SAMPLE : NON_SYNC_SAMPLE);
          put32(sample.cts);
        }
        dataOffset += sample.data.length;
      });
    });
    put32(8 + dataSize);
    buf.write('mdat', at, 'latin1');
    for (const track of held) {
      for (const sample of track.samples) sink.appendReference(sample.data);
      track.samples = [];
    }
    fragmentStartMs = undefined;
  };

  return {
    begin(sink, stream) {
      tracks = [];
      video =
        stream.videoCodec && stream.video
          ? { id: 1, kind: 'video', timescale: VIDEO_TIMESCALE, samples: [], lastDuration: 3600 }
          : undefined;
      // An AAC configuration that comes after the file's first frame is not in its moov: the file has no audio.
      const aacRate = stream.audioCodec === 'aac' ? stream.aac?.sampleRate : undefined;
      audio = aacRate
        ? { id: video ? 2 : 1, kind: 'audio', timescale: aacRate, samples: [], lastDuration: 1024 }
        : undefined;
      if (video) tracks.push(video);
      if (audio) tracks.push(audio);
      sequence = 0;
      fragmentStartMs = undefined;
      sink.append(fileHeader(tracks, stream));
    },
    cutsAt: avCut,
    takes: isFrame,
    packet(sink, packet, body, _stream, _runMs, fileMs) {
      let track: Track | undefined;
      let sample: Sample | undefined;
      if (packet.kind === 'video' && video) {
        const frame = readVideoBody(body);
        if (frame.kind !== 'frame') return;
        track = video;
        sample = {
          data: frame.data,
          dts: Math.max(0, Math.round(fileMs * 90)),
          cts: frame.cts * 90,
          key: frame.key,
        };
      } else if (packet.kind === 'audio' && audio) {
        const frame = readAudioBody(body);
        if (frame.kind !== 'frame' || frame.codec !== 'aac') return;
        track = audio;
        sample = {
          data: frame.data,
          dts: Math.max(0, Math.round((fileMs * audio.timescale) / 1000)),
          cts: 0,
          key: true,
        };
      }
      if (!track || !sample) return;
      const cut =
        fragmentStartMs !== undefined &&
        ((track === video && sample.key) || fileMs - fragmentStartMs >= FRAGMENT_MS);
      if (cut) writeFragment(sink, track, sample.dts);
      fragmentStartMs ??= fileMs;
      track.samples.push(sample);
    },
    end: (sink) => writeFragment(sink),
  };
}
