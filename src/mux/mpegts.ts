// MPEG-TS (ISO/IEC 13818-1) for HLS segments: one program, a video and an audio PID, PES per frame.
import type { ByteSink } from './byte-sink.js';

const PACKET = 188;
const PMT_PID = 0x1000;
const VIDEO_PID = 0x100;
const AUDIO_PID = 0x101;
const TWO_33 = 2 ** 33;

/** Stream types of the program map: H.264, HEVC, AAC in ADTS, MPEG-1 audio (MP3). */
export const STREAM_TYPES = { h264: 0x1b, h265: 0x24, aac: 0x0f, mp3: 0x03 } as const;

export interface TsProgram {
  video?: 'h264' | 'h265';
  audio?: 'aac' | 'mp3';
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    table[i] = crc >>> 0;
  }
  return table;
})();

/** CRC-32/MPEG-2 of a PSI section. */
export function crc32Mpeg2(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/** A 33-bit timestamp in the 5 bytes of a PES header, behind its 4-bit prefix. */
function writeTimestamp(out: Buffer, at: number, prefix: number, ts: number): void {
  const t = ((ts % TWO_33) + TWO_33) % TWO_33;
  const high = Math.floor(t / 2 ** 30);
  const low = t % 2 ** 30;
  out[at] = (prefix << 4) | (high << 1) | 1;
  out[at + 1] = (low >> 22) & 0xff;
  out[at + 2] = (((low >> 15) & 0x7f) << 1) | 1;
  out[at + 3] = (low >> 7) & 0xff;
  out[at + 4] = ((low & 0x7f) << 1) | 1;
}

/** Writes one program's packets, keeping each PID's continuity counter from segment to segment. */
export class TsMuxer {
  readonly #program: TsProgram;
  readonly #pcrPid: number;
  readonly #cc = new Map<number, number>();
  readonly #psi: Buffer[];
  /** A PES header is built here, then copied into the packets. */
  readonly #header = Buffer.alloc(19);

  constructor(program: TsProgram) {
    this.#program = program;
    this.#pcrPid = program.video ? VIDEO_PID : AUDIO_PID;
    this.#psi = [this.#section(0, this.#pat()), this.#section(PMT_PID, this.#pmt())];
  }

  /** The program tables a segment starts with, so a player can begin reading at any segment. */
  tables(sink: ByteSink): void {
    for (const packet of this.#psi) this.#stamp(sink.buffer, sink.append(packet));
  }

  /** One video access unit (Annex B parts); timestamps and the clock reference in 90 kHz units. */
  video(sink: ByteSink, parts: readonly Buffer[], pts: number, dts: number, key: boolean, pcr: number): void {
    const both = pts !== dts;
    const header = this.#header.subarray(0, both ? 19 : 14);
    header.writeUInt32BE(0x000001e0, 0);
    // A bounded length lets a reader hand the frame on once it is read; 0 (unbounded) past 65535 bytes.
    const length = header.length - 6 + byteLength(parts);
    header.writeUInt16BE(length > 0xffff ? 0 : length, 4);
    header[6] = 0x84;
    header[7] = both ? 0xc0 : 0x80;
    header[8] = both ? 10 : 5;
    writeTimestamp(header, 9, both ? 3 : 2, pts);
    if (both) writeTimestamp(header, 14, 1, dts);
    this.#packetize(sink, VIDEO_PID, header, parts, key, pcr);
  }

  /** One audio frame (an ADTS frame or an MP3 frame); its pts and the clock reference in 90 kHz units. */
  audio(sink: ByteSink, parts: readonly Buffer[], pts: number, pcr: number): void {
    const payload = byteLength(parts);
    const header = this.#header.subarray(0, 14);
    header.writeUInt32BE(0x000001c0, 0);
    header.writeUInt16BE(payload + 8 > 0xffff ? 0 : payload + 8, 4);
    header[6] = 0x80;
    header[7] = 0x80;
    header[8] = 5;
    writeTimestamp(header, 9, 2, pts);
    this.#packetize(sink, AUDIO_PID, header, parts, !this.#program.video, pcr);
  }

  #pat(): Buffer {
    const body = Buffer.alloc(4);
    body.writeUInt16BE(1, 0);
    body.writeUInt16BE(0xe000 | PMT_PID, 2);
    return this.#table(0x00, 1, body);
  }

  #pmt(): Buffer {
    const streams: Buffer[] = [];
    const entry = (type: number, pid: number) => {
      const e = Buffer.alloc(5);
      e[0] = type;
      e.writeUInt16BE(0xe000 | pid, 1);
      e.writeUInt16BE(0xf000, 3);
      streams.push(e);
    };
    if (this.#program.video) entry(STREAM_TYPES[this.#program.video], VIDEO_PID);
    if (this.#program.audio) entry(STREAM_TYPES[this.#program.audio], AUDIO_PID);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(0xe000 | this.#pcrPid, 0);
    head.writeUInt16BE(0xf000, 2);
    return this.#table(0x02, 1, Buffer.concat([head, ...streams]));
  }

  /** A PSI section: table id, syntax header, body, CRC. */
  #table(tableId: number, idExtension: number, body: Buffer): Buffer {
    const section = Buffer.alloc(8 + body.length + 4);
    section[0] = tableId;
    section.writeUInt16BE(0xb000 | (5 + body.length + 4), 1);
    section.writeUInt16BE(idExtension, 3);
    section[5] = 0xc1;
    body.copy(section, 8);
    section.writeUInt32BE(crc32Mpeg2(section.subarray(0, section.length - 4)), section.length - 4);
    return section;
  }

  /** A PSI section in one packet (pointer field 0, stuffed with 0xff); its header is stamped when written. */
  #section(pid: number, section: Buffer): Buffer {
    const packet = Buffer.alloc(PACKET, 0xff);
    packet[0] = 0x47;
    packet[1] = (pid >> 8) & 0x1f;
    packet[2] = pid & 0xff;
    packet[4] = 0;
    section.copy(packet, 5);
    return packet;
  }

  /** Sets a PSI packet's start flag and next continuity counter, where it was copied to. */
  #stamp(packet: Buffer, at: number): void {
    const pid = ((packet[at + 1]! & 0x1f) << 8) | packet[at + 2]!;
    const cc = ((this.#cc.get(pid) ?? -1) + 1) & 0x0f;
    this.#cc.set(pid, cc);
    packet[at + 1] = 0x40 | (packet[at + 1]! & 0x1f);
    packet[at + 3] = 0x10 | cc;
  }

  /** Splits a PES into packets; its first carries the random-access flag and, on the PCR PID, the clock. */
  #packetize(
    sink: ByteSink,
    pid: number,
    header: Buffer,
    body: readonly Buffer[],
    randomAccess: boolean,
    clock: number,
  ): void {
    const parts = [header, ...body];
    const total = header.length + byteLength(body);
    const pcr = pid === this.#pcrPid ? clock : undefined;
    const firstField = pcr !== undefined ? 8 : randomAccess ? 2 : 0;
    const packets = Math.max(1, Math.ceil((total + firstField) / (PACKET - 4)));
    // Every byte of the reserved packets is written below: headers, adaptation fields, stuffing, payload.
    const start = sink.reserve(packets * PACKET);
    const out = sink.buffer;
    let part = 0;
    let partAt = 0;
    let left = total;
    for (let n = 0; n < packets; n++) {
      const at = start + n * PACKET;
      const first = n === 0;
      let field = first ? firstField : 0;
      let room = PACKET - 4 - field;
      // The last packet is stuffed in its adaptation field up to 188 bytes.
      if (left < room) {
        field += room - left;
        room = left;
      }
      out[at] = 0x47;
      out[at + 1] = (first ? 0x40 : 0) | ((pid >> 8) & 0x1f);
      out[at + 2] = pid & 0xff;
      const cc = ((this.#cc.get(pid) ?? -1) + 1) & 0x0f;
      this.#cc.set(pid, cc);
      out[at + 3] = (field > 0 ? 0x30 : 0x10) | cc;
      if (field > 0) {
        out[at + 4] = field - 1;
        if (field > 1) {
          out[at + 5] = (first && randomAccess ? 0x40 : 0) | (first && pcr !== undefined ? 0x10 : 0);
          let fill = at + 6;
          if (first && pcr !== undefined) {
            writePcr(out, fill, pcr);
            fill += 6;
          }
          out.fill(0xff, fill, at + 4 + field);
        }
      }
      let write = at + 4 + field;
      for (let need = room; need > 0;) {
        const source = parts[part]!;
        const take = Math.min(need, source.length - partAt);
        source.copy(out, write, partAt, partAt + take);
        write += take;
        need -= take;
        partAt += take;
        if (partAt === source.length) {
          part++;
          partAt = 0;
        }
      }
      left -= room;
    }
  }
}

function byteLength(parts: readonly Buffer[]): number {
  let total = 0;
  for (const part of parts) total += part.length;
  return total;
}

/** A program clock reference: a 33-bit 90 kHz base, 6 reserved bits, a 9-bit extension of 0. */
function writePcr(out: Buffer, at: number, ts: number): void {
  const base = ((ts % TWO_33) + TWO_33) % TWO_33;
  out.writeUInt32BE(Math.floor(base / 2), at);
  out[at + 4] = ((base % 2) << 7) | 0x7e;
  out[at + 5] = 0;
}
