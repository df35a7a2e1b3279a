import { open } from 'node:fs/promises';
import type { AudioStreamInfo, MediaProbe, VideoStreamInfo } from '../ffmpeg/probe.js';
import { boxHeader, mp4Boxes, mp4Timing, type Mp4Box } from '../mux/mp4-box.js';

/** ffprobe's format name for MP4 (its mov demuxer's), which the media index keeps as MetaData's container. */
const MP4_FORMAT_NAME = 'mov,mp4,m4a,3gp,3g2,mj2';
/** What is read first: a faststart file's ftyp and most or all of its moov. */
const HEAD_BYTES = 256 * 1024;
/** A moov larger than this is not read here (ffprobe reads it). About 10 hours of 25 fps video with audio. */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;

const VIDEO_CODECS: Record<string, string> = {
  avc1: 'h264',
  avc3: 'h264',
  hvc1: 'h265',
  hev1: 'h265',
  av01: 'av1',
  vp09: 'vp9',
};

function child(buf: Buffer, box: Mp4Box | undefined, type: string, skip = 0): Mp4Box | undefined {
  return box && mp4Boxes(buf, box.start + skip, box.end).find((b) => b.type === type);
}

/** The object type of an mp4a entry's esds (0x40 AAC, 0x69 and 0x6B MP3), walking its descriptors. */
function objectType(buf: Buffer, esds: Mp4Box | undefined): number | undefined {
  if (!esds) return undefined;
  let at = esds.start + 4;
  const descriptor = () => {
    const tag = buf[at++];
    let length = 0;
    for (let i = 0; i < 4 && at < esds.end; i++) {
      const b = buf[at++]!;
      length = (length << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return { tag, length };
  };
  if (descriptor().tag !== 0x03) return undefined;
  const flags = buf[at + 2]!;
  at += 3 + (flags & 0x80 ? 2 : 0) + (flags & 0x40 ? 1 + buf[at + 3]! : 0) + (flags & 0x20 ? 2 : 0);
  if (at >= esds.end || descriptor().tag !== 0x04) return undefined;
  return buf[at];
}

function audioCodec(buf: Buffer, entry: Mp4Box): string {
  if (entry.type === 'Opus') return 'opus';
  if (entry.type === '.mp3') return 'mp3';
  if (entry.type !== 'mp4a') return entry.type;
  // An mp4a sample entry's body: 28 bytes of fields, then its boxes (esds).
  const type = objectType(buf, child(buf, entry, 'esds', 28));
  return type === 0x69 || type === 0x6b ? 'mp3' : 'aac';
}

/** The rate of the most common sample delta (ffprobe's r_frame_rate for a constant-rate track). */
function frameRate(buf: Buffer, stts: Mp4Box | undefined, timescale: number): number {
  if (!stts || !timescale) return 0;
  const count = buf.readUInt32BE(stts.start + 4);
  let best = { samples: 0, delta: 0 };
  for (let i = 0, at = stts.start + 8; i < count && at + 8 <= stts.end; i++, at += 8) {
    const samples = buf.readUInt32BE(at);
    if (samples > best.samples) best = { samples, delta: buf.readUInt32BE(at + 4) };
  }
  return best.delta ? Math.round((timescale / best.delta) * 1000) / 1000 : 0;
}

/** Bytes of all samples in a track, from its stsz. */
function sampleBytes(buf: Buffer, stsz: Mp4Box | undefined): number {
  if (!stsz) return 0;
  const size = buf.readUInt32BE(stsz.start + 4);
  const count = buf.readUInt32BE(stsz.start + 8);
  if (size) return size * count;
  let total = 0;
  for (let i = 0, at = stsz.start + 12; i < count && at + 4 <= stsz.end; i++, at += 4) {
    total += buf.readUInt32BE(at);
  }
  return total;
}

/**
 * MetaData of an MP4 from its moov alone (pure): what ffprobe reports of it, without a process. Stream bitrates
 * are their samples' bytes over their durations, as ffprobe's mov demuxer computes them. Undefined when the moov
 * is not a whole, plain one (a fragmented file's moov holds no samples).
 */
export function parseMp4Moov(moov: Buffer, fileSize: number): MediaProbe | undefined {
  const root: Mp4Box = { type: 'moov', at: 0, start: 0, end: moov.length };
  if (child(moov, root, 'mvex')) return undefined;
  const mvhd = child(moov, root, 'mvhd');
  if (!mvhd) return undefined;
  const movie = mp4Timing(moov, mvhd);
  const videoStreams: VideoStreamInfo[] = [];
  const audioStreams: AudioStreamInfo[] = [];
  for (const trak of mp4Boxes(moov, root.start, root.end).filter((b) => b.type === 'trak')) {
    const mdia = child(moov, trak, 'mdia');
    const mdhd = child(moov, mdia, 'mdhd');
    const hdlr = child(moov, mdia, 'hdlr');
    const stbl = child(moov, child(moov, mdia, 'minf'), 'stbl');
    const stsd = child(moov, stbl, 'stsd');
    if (!mdhd || !hdlr || !stsd) return undefined;
    const { timescale, duration } = mp4Timing(moov, mdhd);
    const seconds = timescale ? duration / timescale : 0;
    const bitrate =
      seconds > 0 ? Math.round((sampleBytes(moov, child(moov, stbl, 'stsz')) * 8) / seconds) : 0;
    // stsd: a full box and an entry count, then the sample entries.
    const entry = mp4Boxes(moov, stsd.start + 8, stsd.end)[0];
    if (!entry) return undefined;
    const handler = moov.toString('latin1', hdlr.start + 8, hdlr.start + 12);
    if (handler === 'vide') {
      videoStreams.push({
        codec: VIDEO_CODECS[entry.type] ?? entry.type,
        bitrate,
        // A visual sample entry: 24 bytes of fields, then width and height.
        width: moov.readUInt16BE(entry.start + 24),
        height: moov.readUInt16BE(entry.start + 26),
        fps: frameRate(moov, child(moov, stbl, 'stts'), timescale),
      });
    } else if (handler === 'soun') {
      // An audio sample entry: 24 bytes of fields, then the sample rate as 16.16 fixed point.
      audioStreams.push({
        codec: audioCodec(moov, entry),
        bitrate,
        samplingRate: moov.readUInt32BE(entry.start + 24) >>> 16,
      });
    }
  }
  const duration = movie.timescale ? Math.round((movie.duration / movie.timescale) * 1000) / 1000 : 0;
  return {
    size: fileSize,
    duration,
    container: MP4_FORMAT_NAME,
    bitrate: duration > 0 ? Math.round((fileSize * 8) / duration) : 0,
    width: Math.max(0, ...videoStreams.map((s) => s.width)),
    height: Math.max(0, ...videoStreams.map((s) => s.height)),
    videoStreams,
    audioStreams,
  };
}

/**
 * MetaData of a faststart MP4 (its moov ahead of its media, as the recorder finalizes them), read from the
 * file's head. Undefined when the moov is not at the front or cannot be read: ffprobe is asked then.
 */
export async function probeMp4(path: string): Promise<MediaProbe | undefined> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await file.read(head, 0, head.length, 0);
    // ftyp first, then moov; anything else (free, mdat) before the moov means it is not at the front.
    let at = 0;
    for (let box = boxHeader(head, 0); box; box = boxHeader(head, at)) {
      const { type, size: boxSize, headerBytes } = box;
      if (type === 'moov') {
        if (boxSize < headerBytes || boxSize > MAX_MOOV_BYTES || at + boxSize > size) return undefined;
        let moov = head.subarray(at, at + boxSize);
        if (at + boxSize > head.length) {
          moov = Buffer.alloc(boxSize);
          await file.read(moov, 0, boxSize, at);
        }
        return parseMp4Moov(moov.subarray(headerBytes), size);
      }
      if (type !== 'ftyp' || boxSize < headerBytes) return undefined;
      at += boxSize;
    }
    return undefined;
  } finally {
    await file.close();
  }
}
