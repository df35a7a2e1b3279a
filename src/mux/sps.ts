// The picture size a sequence parameter set declares, for the MP4 sample entry and track header (pure).

import type { VideoConfig } from './elementary.js';

/** Reads bits, most significant first, from a NAL unit's payload with its emulation prevention bytes removed. */
class BitReader {
  #bytes: Uint8Array;
  #bit = 0;

  constructor(nalu: Uint8Array) {
    const out: number[] = [];
    let zeros = 0;
    for (const byte of nalu) {
      // 00 00 03 is 00 00 with a byte inserted so the payload never looks like a start code.
      if (zeros >= 2 && byte === 3) {
        zeros = 0;
        continue;
      }
      zeros = byte === 0 ? zeros + 1 : 0;
      out.push(byte);
    }
    this.#bytes = Uint8Array.from(out);
  }

  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#bytes[this.#bit >> 3];
      if (byte === undefined) throw new RangeError('parameter set ends early');
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }

  skip(n: number): void {
    this.bits(n);
  }

  /** Unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) if (++zeros > 31) throw new RangeError('Exp-Golomb code too long');
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const code = this.ue();
    return code & 1 ? (code + 1) / 2 : -code / 2;
  }
}

export interface PictureSize {
  width: number;
  height: number;
}

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices (H.264 7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** H.264 SPS (after its 1-byte NAL header): the cropped luma size. */
function h264Size(sps: Uint8Array): PictureSize {
  const r = new BitReader(sps.subarray(1));
  const profile = r.bits(8);
  r.skip(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if (HIGH_PROFILES.has(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.skip(1);
    r.ue();
    r.ue(); // bit depths
    r.skip(1);
    if (r.bits(1))
      for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.bits(1)) skipScalingList(r, i < 6 ? 16 : 64);
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    for (let n = r.ue(); n > 0; n--) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.skip(1);
  const widthMbs = r.ue() + 1;
  const heightUnits = r.ue() + 1;
  const frameMbsOnly = r.bits(1);
  if (!frameMbsOnly) r.skip(1);
  r.skip(1); // direct_8x8_inference_flag
  let width = widthMbs * 16;
  let height = (2 - frameMbsOnly) * heightUnits * 16;
  if (r.bits(1)) {
    const [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()];
    const cropX = chroma === 1 || chroma === 2 ? 2 : 1;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    width -= cropX * (left + right);
    height -= cropY * (top + bottom);
  }
  return { width, height };
}

/** HEVC SPS (after its 2-byte NAL header): the conformance window's luma size. */
function h265Size(sps: Uint8Array): PictureSize {
  const r = new BitReader(sps.subarray(2));
  r.skip(4); // sps_video_parameter_set_id
  const subLayers = r.bits(3);
  r.skip(1);
  r.skip(96); // general profile, tier and level
  const present: [boolean, boolean][] = [];
  for (let i = 0; i < subLayers; i++) present.push([r.bits(1) === 1, r.bits(1) === 1]);
  if (subLayers > 0) r.skip(2 * (8 - subLayers));
  for (const [profile, level] of present) {
    if (profile) r.skip(88);
    if (level) r.skip(8);
  }
  r.ue(); // sps_seq_parameter_set_id
  const chroma = r.ue();
  if (chroma === 3) r.skip(1);
  let width = r.ue();
  let height = r.ue();
  if (r.bits(1)) {
    const [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()];
    width -= (chroma === 1 || chroma === 2 ? 2 : 1) * (left + right);
    height -= (chroma === 1 ? 2 : 1) * (top + bottom);
  }
  return { width, height };
}

/** The size the configuration's first SPS declares, or undefined when it has none or it cannot be read. */
export function pictureSize(config: VideoConfig): PictureSize | undefined {
  const isSps = (set: Buffer) =>
    config.codec === 'h264' ? (set[0]! & 0x1f) === 7 : ((set[0]! >> 1) & 0x3f) === 33;
  const sps = config.parameterSets.find(isSps);
  if (!sps) return undefined;
  try {
    return config.codec === 'h264' ? h264Size(sps) : h265Size(sps);
  } catch {
    return undefined;
  }
}
