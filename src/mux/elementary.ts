// What an FLV tag carries, as the elementary streams a container wants: Annex B access units and ADTS frames (pure).

/** The parameter sets of an H.264 (avcC) or HEVC (hvcC) decoder configuration, and its NAL length size. */
export interface VideoConfig {
  codec: 'h264' | 'h265';
  lengthSize: number;
  /** VPS (HEVC), SPS and PPS, in the order a decoder needs them. */
  parameterSets: Buffer[];
  /** The record itself, as an MP4 sample entry carries it. */
  record: Buffer;
}

/** An AAC AudioSpecificConfig, as much of it as an ADTS header carries. */
export interface AacConfig {
  objectType: number;
  samplingIndex: number;
  channels: number;
  sampleRate: number;
  /** The AudioSpecificConfig itself, as an MP4 sample entry carries it. */
  record: Buffer;
}

export type VideoTagBody =
  | { kind: 'config'; codec: 'h264' | 'h265'; record: Buffer }
  | { kind: 'frame'; codec: 'h264' | 'h265'; key: boolean; cts: number; data: Buffer }
  | { kind: 'other' };

export type AudioTagBody =
  | { kind: 'config'; codec: 'aac'; record: Buffer }
  | { kind: 'frame'; codec: 'aac' | 'mp3'; data: Buffer }
  | { kind: 'other' };

const SAMPLE_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

function si24(data: Buffer, at: number): number {
  const value = data.readUIntBE(at, 3);
  return value & 0x800000 ? value - 0x1000000 : value;
}

/** A video tag's body: legacy FLV (codec 7 H.264, 12 HEVC) or enhanced RTMP's `hvc1` / `avc1`. */
export function readVideoBody(body: Buffer): VideoTagBody {
  const first = body[0] ?? 0;
  const key = ((first >> 4) & 0x07) === 1;
  if (first & 0x80) {
    const fourcc = body.toString('latin1', 1, 5);
    const codec = fourcc === 'hvc1' ? 'h265' : fourcc === 'avc1' ? 'h264' : undefined;
    if (!codec || body.length < 5) return { kind: 'other' };
    const packetType = first & 0x0f;
    if (packetType === 0) return { kind: 'config', codec, record: body.subarray(5) };
    // Coded frames carry a composition time; "X" frames (3) have none (it is 0).
    if (packetType === 1 && body.length >= 8)
      return { kind: 'frame', codec, key, cts: si24(body, 5), data: body.subarray(8) };
    if (packetType === 3) return { kind: 'frame', codec, key, cts: 0, data: body.subarray(5) };
    return { kind: 'other' };
  }
  const codecId = first & 0x0f;
  const codec = codecId === 7 ? 'h264' : codecId === 12 ? 'h265' : undefined;
  if (!codec || body.length < 5) return { kind: 'other' };
  if (body[1] === 0) return { kind: 'config', codec, record: body.subarray(5) };
  if (body[1] === 1) return { kind: 'frame', codec, key, cts: si24(body, 2), data: body.subarray(5) };
  return { kind: 'other' };
}

/** An audio tag's body: AAC (sound format 10) or MP3 (2). */
export function readAudioBody(body: Buffer): AudioTagBody {
  const format = (body[0] ?? 0) >> 4;
  if (format === 2 && body.length > 1) return { kind: 'frame', codec: 'mp3', data: body.subarray(1) };
  if (format !== 10 || body.length < 2) return { kind: 'other' };
  if (body[1] === 0) return { kind: 'config', codec: 'aac', record: body.subarray(2) };
  return { kind: 'frame', codec: 'aac', data: body.subarray(2) };
}

/** Parses an avcC (H.264) or hvcC (HEVC) record; throws when it is cut short. */
export function parseVideoConfig(codec: 'h264' | 'h265', record: Buffer): VideoConfig {
  const parameterSets: Buffer[] = [];
  const take = (at: number): number => {
    const length = record.readUInt16BE(at);
    if (at + 2 + length > record.length) throw new RangeError('parameter set runs past the record');
    parameterSets.push(record.subarray(at + 2, at + 2 + length));
    return at + 2 + length;
  };
  if (codec === 'h264') {
    if (record.length < 7) throw new RangeError('avcC shorter than its header');
    let at = 6;
    for (let n = record[5]! & 0x1f; n > 0; n--) at = take(at);
    for (let n = record[at++]!; n > 0; n--) at = take(at);
    return { codec, lengthSize: (record[4]! & 0x03) + 1, parameterSets, record };
  }
  if (record.length < 23) throw new RangeError('hvcC shorter than its header');
  let at = 23;
  for (let arrays = record[22]!; arrays > 0; arrays--) {
    const count = record.readUInt16BE(at + 1);
    at += 3;
    for (let n = count; n > 0; n--) at = take(at);
  }
  return { codec, lengthSize: (record[21]! & 0x03) + 1, parameterSets, record };
}

/** The type of a NAL unit from its first header byte. */
function nalType(codec: 'h264' | 'h265', header: number): number {
  return codec === 'h264' ? header & 0x1f : (header >> 1) & 0x3f;
}

const START_CODE = Buffer.from([0, 0, 0, 1]);
const AUD: Record<'h264' | 'h265', Buffer> = {
  h264: Buffer.from([0, 0, 0, 1, 0x09, 0xf0]),
  h265: Buffer.from([0, 0, 0, 1, 0x46, 0x01, 0x50]),
};
const AUD_TYPE = { h264: 9, h265: 35 } as const;
const IS_PARAMETER_SET = {
  h264: (type: number) => type === 7 || type === 8,
  h265: (type: number) => type >= 32 && type <= 34,
} as const;

/**
 * One length-prefixed access unit as Annex B: an access unit delimiter first (MPEG-TS needs it), and a keyframe's
 * parameter sets before it when it does not carry its own, so every segment decodes from its first frame.
 */
export function toAnnexB(config: VideoConfig, data: Buffer, key: boolean): Buffer[] {
  const { codec, lengthSize } = config;
  const out: Buffer[] = [AUD[codec]];
  const nalus: Buffer[] = [];
  let hasParameterSets = false;
  for (let at = 0; at + lengthSize <= data.length;) {
    const length = data.readUIntBE(at, lengthSize);
    at += lengthSize;
    if (length === 0 || at + length > data.length) break;
    const nalu = data.subarray(at, at + length);
    at += length;
    const type = nalType(codec, nalu[0]!);
    if (type === AUD_TYPE[codec]) continue;
    if (IS_PARAMETER_SET[codec](type)) hasParameterSets = true;
    nalus.push(nalu);
  }
  if (key && !hasParameterSets) for (const set of config.parameterSets) out.push(START_CODE, set);
  for (const nalu of nalus) out.push(START_CODE, nalu);
  return out;
}

/** Parses the first bytes of an AudioSpecificConfig. */
export function parseAacConfig(record: Buffer): AacConfig {
  if (record.length < 2) throw new RangeError('AudioSpecificConfig shorter than 2 bytes');
  const objectType = record[0]! >> 3;
  const samplingIndex = ((record[0]! & 0x07) << 1) | (record[1]! >> 7);
  const channels = (record[1]! >> 3) & 0x0f;
  const sampleRate = SAMPLE_RATES[samplingIndex];
  if (sampleRate === undefined) throw new RangeError(`sampling frequency index ${samplingIndex} has no rate`);
  return { objectType, samplingIndex, channels, sampleRate, record };
}

/**
 * Writes the 7-byte ADTS header of one raw AAC frame at `at`. ADTS names profiles 1–4 only: HE-AAC (SBR, PS)
 * signalled explicitly is written as its AAC-LC core, which decoders extend implicitly.
 */
export function writeAdtsHeader(out: Buffer, at: number, config: AacConfig, payloadLength: number): void {
  const profile = (config.objectType >= 1 && config.objectType <= 4 ? config.objectType : 2) - 1;
  const length = payloadLength + 7;
  out[at] = 0xff;
  out[at + 1] = 0xf1;
  out[at + 2] = (profile << 6) | (config.samplingIndex << 2) | ((config.channels >> 2) & 0x01);
  out[at + 3] = ((config.channels & 0x03) << 6) | ((length >> 11) & 0x03);
  out[at + 4] = (length >> 3) & 0xff;
  out[at + 5] = ((length & 0x07) << 5) | 0x1f;
  out[at + 6] = 0xfc;
}
