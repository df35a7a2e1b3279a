import { open, type FileHandle } from 'node:fs/promises';
import { boxHeader, mp4Boxes, mp4Timing, type Mp4Box } from './mp4-box.js';

/**
 * Faststart of a fragmented MP4 (the work file either engine writes), in process: the samples of every moof
 * gathered into one moov's sample tables, written before one mdat that holds the fragments' data as it was.
 * The samples are not read, only copied; times, sizes, flags and edits are kept, so a reader sees the packets
 * the work file held.
 */

/** The boxes in buf[from, to); one that overruns them is refused. */
function children(buf: Buffer, from: number, to: number): Mp4Box[] {
  const out = mp4Boxes(buf, from, to);
  const end = out.at(-1)?.end ?? from;
  const next = boxHeader(buf, end, to);
  if (next) throw new Error(`box ${next.type} overruns its parent`);
  return out;
}

function find(buf: Buffer, parent: Mp4Box, type: string): Mp4Box | undefined {
  return children(buf, parent.start, parent.end).find((b) => b.type === type);
}

function need(buf: Buffer, parent: Mp4Box, type: string): Mp4Box {
  const found = find(buf, parent, type);
  if (!found) throw new Error(`${parent.type} has no ${type}`);
  return found;
}

const raw = (buf: Buffer, box: Mp4Box) => buf.subarray(box.at, box.end);

function box(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function fullBox(type: string, version: number, flags: number, ...parts: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version << 24) | flags) >>> 0);
  return box(type, vf, ...parts);
}

/** Big-endian 32-bit words (signed ones written as their two's complement). */
function words(values: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeUInt32BE(values[i]! >>> 0, i * 4);
  return out;
}

function u64(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

/** What trex says of a track's samples when a fragment does not. */
interface Defaults {
  duration: number;
  size: number;
  flags: number;
}

interface Track {
  id: number;
  trak: Mp4Box;
  timescale: number;
  /** Where the input's edits begin the presentation, in media time (undefined: no edits). */
  shift: number | undefined;
  defaults: Defaults;
  dts: number[];
  durations: number[];
  sizes: number[];
  offsets: number[];
  sync: boolean[];
  chunks: { count: number; run: number }[];
  nextDts: number | undefined;
}

/** A stretch of the work file copied into the faststart file's mdat. */
export interface CopyRange {
  offset: number;
  length: number;
}

export interface FaststartPlan {
  /** ftyp, moov and the mdat's header. */
  head: Buffer;
  ranges: CopyRange[];
}

const NON_SYNC = 0x0001_0000;

/**
 * Where an edit list begins the presentation in media time: one media edit, after at most one empty edit (whose
 * duration, in the movie's timescale, comes before it). A media time shown at presentation 0.
 */
function readShift(buf: Buffer, elst: Mp4Box, timescale: number, movieScale: number, id: number): number {
  const v1 = buf[elst.start] === 1;
  const count = buf.readUInt32BE(elst.start + 4);
  const entry = (i: number) => {
    const at = elst.start + 8 + i * (v1 ? 20 : 12);
    return v1
      ? { duration: Number(buf.readBigUInt64BE(at)), media: Number(buf.readBigInt64BE(at + 8)) }
      : { duration: buf.readUInt32BE(at), media: buf.readInt32BE(at + 4) };
  };
  if (elst.end - elst.start < 8 + count * (v1 ? 20 : 12)) throw new Error(`track ${id}: a cut edit list`);
  const empty = count === 2 && entry(0).media === -1 ? entry(0).duration : undefined;
  if (count !== 1 && empty === undefined) throw new Error(`track ${id}: an edit list of ${count} entries`);
  const media = entry(count - 1).media;
  if (media < 0) throw new Error(`track ${id}: an edit list with no media`);
  return media - Math.round(((empty ?? 0) * timescale) / movieScale);
}

function readTracks(buf: Buffer, moov: Mp4Box, movieScale: number): Track[] {
  const mvex = find(buf, moov, 'mvex');
  const defaults = new Map<number, Defaults>();
  for (const trex of mvex ? children(buf, mvex.start, mvex.end).filter((b) => b.type === 'trex') : []) {
    const at = trex.start + 4;
    defaults.set(buf.readUInt32BE(at), {
      duration: buf.readUInt32BE(at + 8),
      size: buf.readUInt32BE(at + 12),
      flags: buf.readUInt32BE(at + 16),
    });
  }
  return children(buf, moov.start, moov.end)
    .filter((b) => b.type === 'trak')
    .map((trak) => {
      const tkhd = need(buf, trak, 'tkhd');
      const id = buf.readUInt32BE(tkhd.start + (buf[tkhd.start] === 1 ? 20 : 12));
      const mdhd = need(buf, need(buf, trak, 'mdia'), 'mdhd');
      const { timescale } = mp4Timing(buf, mdhd);
      const edts = find(buf, trak, 'edts');
      const elst = edts && find(buf, edts, 'elst');
      let shift: number | undefined;
      if (elst) shift = readShift(buf, elst, timescale, movieScale, id);
      return {
        id,
        trak,
        timescale,
        shift,
        defaults: defaults.get(id) ?? { duration: 0, size: 0, flags: 0 },
        dts: [],
        durations: [],
        sizes: [],
        offsets: [],
        sync: [],
        chunks: [],
        nextDts: undefined,
      };
    });
}

/** Reads big-endian fields one after another. */
class Cursor {
  constructor(
    readonly buf: Buffer,
    public at: number,
  ) {}
  u32(): number {
    const value = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }
  i32(): number {
    const value = this.buf.readInt32BE(this.at);
    this.at += 4;
    return value;
  }
  u64(): number {
    const value = Number(this.buf.readBigUInt64BE(this.at));
    this.at += 8;
    return value;
  }
}

/** Reads one moof (its body in buf, the box at `fileAt` in the file) into the tracks' sample lists. */
function readFragment(
  buf: Buffer,
  moof: Mp4Box,
  fileAt: number,
  tracks: Map<number, Track>,
  runs: CopyRange[],
) {
  let dataEnd = fileAt;
  for (const traf of children(buf, moof.start, moof.end).filter((b) => b.type === 'traf')) {
    const tfhd = new Cursor(buf, need(buf, traf, 'tfhd').start);
    const tfhdFlags = tfhd.u32() & 0xff_ffff;
    const id = tfhd.u32();
    const track = tracks.get(id);
    if (!track) throw new Error(`a fragment of track ${id}, not in the moov`);
    let base = tfhdFlags & 0x02_0000 ? fileAt : dataEnd;
    if (tfhdFlags & 0x1) base = tfhd.u64();
    if (tfhdFlags & 0x2) tfhd.u32();
    const duration = tfhdFlags & 0x8 ? tfhd.u32() : track.defaults.duration;
    const size = tfhdFlags & 0x10 ? tfhd.u32() : track.defaults.size;
    const flags = tfhdFlags & 0x20 ? tfhd.u32() : track.defaults.flags;
    const tfdt = find(buf, traf, 'tfdt');
    if (tfdt) {
      const at = new Cursor(buf, tfdt.start + 4);
      const dts = buf[tfdt.start] === 1 ? at.u64() : at.u32();
      // A gap between fragments lengthens the sample before it, as the times say.
      const last = track.durations.length - 1;
      if (last >= 0 && dts > track.dts[last]!) track.durations[last] = dts - track.dts[last]!;
      track.nextDts = dts;
    }
    let next = base;
    for (const trun of children(buf, traf.start, traf.end).filter((b) => b.type === 'trun')) {
      const version = buf[trun.start]!;
      const at = new Cursor(buf, trun.start);
      const trunFlags = at.u32() & 0xff_ffff;
      const count = at.u32();
      if (trunFlags & 0x1) next = base + at.i32();
      const firstFlags = trunFlags & 0x4 ? at.u32() : undefined;
      const fields = [0x100, 0x200, 0x400, 0x800].filter((f) => trunFlags & f).length;
      if (count * fields * 4 > trun.end - at.at)
        throw new Error(`track ${track.id}: a trun longer than its box`);
      const runStart = next;
      for (let i = 0; i < count; i++) {
        const d = trunFlags & 0x100 ? at.u32() : duration;
        const s = trunFlags & 0x200 ? at.u32() : size;
        const f = trunFlags & 0x400 ? at.u32() : i === 0 && firstFlags !== undefined ? firstFlags : flags;
        let cto = 0;
        if (trunFlags & 0x800) cto = version === 1 ? at.i32() : at.u32();
        const dts = track.nextDts ?? 0;
        track.dts.push(dts);
        track.durations.push(d);
        track.sizes.push(s);
        track.offsets.push(cto);
        track.sync.push((f & NON_SYNC) === 0);
        track.nextDts = dts + d;
        next += s;
      }
      if (count > 0) {
        track.chunks.push({ count, run: runs.length });
        runs.push({ offset: runStart, length: next - runStart });
      }
    }
    dataEnd = next;
  }
}

/** Run-length pairs (count, value) of a list. */
function runLengths(values: number[]): number[] {
  const out: number[] = [];
  for (const value of values) {
    if (out.length > 0 && out.at(-1) === value) out[out.length - 2]!++;
    else out.push(1, value);
  }
  return out;
}

/** A tkhd, mdhd or mvhd with its duration replaced (version 1 when it does not fit 32 bits). */
function withDuration(
  buf: Buffer,
  header: Mp4Box,
  duration: number,
  durationAt: (v1: boolean) => number,
): Buffer {
  const v1 = buf[header.start] === 1;
  const body = buf.subarray(header.start, header.end);
  const at = durationAt(v1);
  const tail = body.subarray(at + (v1 ? 8 : 4));
  if (v1 || duration > 0xffff_ffff) {
    // Version 1: creation and modification times (and tkhd's track id and reserved word) widened as needed.
    const times = v1 ? body.subarray(4, at) : widenTimes(body.subarray(4, at), header.type);
    return fullBox(header.type, 1, body.readUInt32BE(0) & 0xff_ffff, times, u64(duration), tail);
  }
  const out = Buffer.from(body);
  out.writeUInt32BE(duration, at);
  return box(header.type, out);
}

/** Version 0's creation and modification times (and what sits between them and the duration) as version 1's. */
function widenTimes(times: Buffer, type: string): Buffer {
  const created = u64(times.readUInt32BE(0));
  const modified = u64(times.readUInt32BE(4));
  return Buffer.concat([created, modified, times.subarray(8, type === 'tkhd' ? 16 : 12)]);
}

function stbl(track: Track, stsd: Buffer, chunkOffsets: number[], wide: boolean): Buffer {
  const n = track.sizes.length;
  const parts = [stsd];
  const stts = runLengths(track.durations);
  parts.push(fullBox('stts', 0, 0, words([stts.length / 2, ...stts])));
  if (track.sync.some((s) => !s)) {
    const keys: number[] = [];
    track.sync.forEach((s, i) => s && keys.push(i + 1));
    parts.push(fullBox('stss', 0, 0, words([keys.length, ...keys])));
  }
  if (track.offsets.some((o) => o !== 0)) {
    const ctts = runLengths(track.offsets);
    parts.push(
      fullBox('ctts', track.offsets.some((o) => o < 0) ? 1 : 0, 0, words([ctts.length / 2, ...ctts])),
    );
  }
  const stsc: number[] = [];
  track.chunks.forEach((chunk, i) => {
    if (stsc.length === 0 || stsc[stsc.length - 2] !== chunk.count) stsc.push(i + 1, chunk.count, 1);
  });
  parts.push(fullBox('stsc', 0, 0, words([stsc.length / 3, ...stsc])));
  parts.push(fullBox('stsz', 0, 0, words([0, n, ...track.sizes])));
  if (wide) parts.push(fullBox('co64', 0, 0, words([chunkOffsets.length]), ...chunkOffsets.map(u64)));
  else parts.push(fullBox('stco', 0, 0, words([chunkOffsets.length, ...chunkOffsets])));
  return box('stbl', ...parts);
}

/**
 * The edits that show a track as the work file did (pure). Its samples' times start at `first` there and at 0
 * here; its edits showed media time `shift` at presentation 0 (undefined: no edits); `presentedEnd` is where its
 * last sample is shown to, here. One media edit keeps that start, after an empty edit when the media begins after
 * the presentation (a video behind its audio), as ffmpeg writes it. Entries are [duration, media time], in the
 * track's timescale.
 */
export function edits(first: number, shift: number | undefined, presentedEnd: number): [number, number][] {
  if (shift === undefined && first === 0) return [];
  const delay = first - (shift ?? 0);
  if (delay <= 0) return [[Math.max(0, presentedEnd + delay), -delay]];
  return [
    [delay, -1],
    [presentedEnd, 0],
  ];
}

function elst(entries: [number, number][], toMovie: (t: number) => number): Buffer {
  const body = entries.map(([duration, media]) => {
    const entry = Buffer.alloc(20);
    entry.writeBigUInt64BE(BigInt(toMovie(duration)), 0);
    entry.writeBigInt64BE(BigInt(media), 8);
    entry.writeUInt32BE(0x1_0000, 16);
    return entry;
  });
  return box('edts', fullBox('elst', 1, 0, words([entries.length]), ...body));
}

/** A track's trak, and its duration in the movie's timescale (what its tkhd declares). */
function trak(
  buf: Buffer,
  track: Track,
  movieScale: number,
  chunkOffsets: number[],
  wide: boolean,
): { box: Buffer; duration: number } {
  const mediaDuration = track.durations.reduce((sum, d) => sum + d, 0);
  const toMovie = (t: number) => Math.round((t * movieScale) / track.timescale);
  const first = track.dts[0] ?? 0;
  let presentedEnd = 0;
  for (let i = 0; i < track.dts.length; i++) {
    presentedEnd = Math.max(presentedEnd, track.dts[i]! - first + track.offsets[i]! + track.durations[i]!);
  }
  const entries = edits(first, track.shift, presentedEnd);
  const trackDuration = toMovie(entries.length ? entries.reduce((sum, [d]) => sum + d, 0) : mediaDuration);
  const tkhd = need(buf, track.trak, 'tkhd');
  const mdia = need(buf, track.trak, 'mdia');
  const minf = need(buf, mdia, 'minf');
  const stsd = need(buf, need(buf, minf, 'stbl'), 'stsd');
  const minfParts = children(buf, minf.start, minf.end).map((b) =>
    b.type === 'stbl' ? stbl(track, raw(buf, stsd), chunkOffsets, wide) : raw(buf, b),
  );
  const mdiaParts = children(buf, mdia.start, mdia.end).map((b) => {
    if (b.type === 'mdhd') return withDuration(buf, b, mediaDuration, (v1) => (v1 ? 24 : 16));
    if (b.type === 'minf') return box('minf', ...minfParts);
    return raw(buf, b);
  });
  const rest = children(buf, track.trak.start, track.trak.end)
    .filter((b) => !['tkhd', 'edts', 'mdia'].includes(b.type))
    .map((b) => raw(buf, b));
  const trakBox = box(
    'trak',
    withDuration(buf, tkhd, trackDuration, (v1) => (v1 ? 28 : 20)),
    ...(entries.length ? [elst(entries, toMovie)] : []),
    box('mdia', ...mdiaParts),
    ...rest,
  );
  return { box: trakBox, duration: trackDuration };
}

/** mdat data past this size gets 64-bit chunk offsets and an mdat of a 64-bit size (room left for the moov). */
const WIDE_DATA = 0xf000_0000;

function isAvc(buf: Buffer, track: Track): boolean {
  const stsd = need(buf, need(buf, need(buf, need(buf, track.trak, 'mdia'), 'minf'), 'stbl'), 'stsd');
  const entry = buf.toString('latin1', stsd.start + 12, stsd.start + 16);
  return entry === 'avc1' || entry === 'avc3';
}

/**
 * The faststart file of a fragmented MP4 (pure): its head (ftyp, moov, the mdat's header) and the stretches of
 * the work file that follow it. `moov` is the work file's moov box; `fragments` its moof boxes in order, each
 * with its offset in the file. Throws when the file is not one it can read (it is then remuxed by ffmpeg).
 */
export function planFaststart(moov: Buffer, fragments: { at: number; moof: Buffer }[]): FaststartPlan {
  const top = children(moov, 0, moov.length)[0];
  if (top?.type !== 'moov') throw new Error('no moov');
  if (!find(moov, top, 'mvex')) throw new Error('not fragmented');
  const mvhd = need(moov, top, 'mvhd');
  const movieScale = mp4Timing(moov, mvhd).timescale;
  const tracks = readTracks(moov, top, movieScale);
  const byId = new Map(tracks.map((t) => [t.id, t]));
  const runs: CopyRange[] = [];
  for (const { at, moof } of fragments) {
    const boxes = children(moof, 0, moof.length);
    if (boxes[0]?.type !== 'moof') throw new Error(`no moof at ${at}`);
    readFragment(moof, boxes[0], at, byId, runs);
  }
  const dataSize = runs.reduce((sum, r) => sum + r.length, 0);
  const wide = dataSize > WIDE_DATA;
  const brands = ['isom', 'iso2', ...(tracks.some((t) => isAvc(moov, t)) ? ['avc1'] : []), 'mp41'];
  const ftyp = box(
    'ftyp',
    Buffer.from('isom', 'latin1'),
    words([0x200]),
    Buffer.from(brands.join(''), 'latin1'),
  );
  const mdatHead = wide
    ? Buffer.concat([words([1]), Buffer.from('mdat'), u64(16 + dataSize)])
    : Buffer.concat([words([8 + dataSize]), Buffer.from('mdat')]);
  const build = (dataStart: number) => {
    const runAt: number[] = [];
    let offset = dataStart;
    for (const run of runs) {
      runAt.push(offset);
      offset += run.length;
    }
    const traks = tracks.map((t) =>
      trak(
        moov,
        t,
        movieScale,
        t.chunks.map((c) => runAt[c.run]!),
        wide,
      ),
    );
    const longest = Math.max(0, ...traks.map((t) => t.duration));
    const rest = children(moov, top.start, top.end)
      .filter((b) => !['mvhd', 'trak', 'mvex'].includes(b.type))
      .map((b) => raw(moov, b));
    return box(
      'moov',
      withDuration(moov, mvhd, longest, (v1) => (v1 ? 24 : 16)),
      ...traks.map((t) => t.box),
      ...rest,
    );
  };
  const sized = build(0).length;
  const head = Buffer.concat([ftyp, build(ftyp.length + sized + mdatHead.length), mdatHead]);
  const ranges: CopyRange[] = [];
  for (const run of runs) {
    const last = ranges.at(-1);
    if (last && last.offset + last.length === run.offset) last.length += run.length;
    else ranges.push({ ...run });
  }
  return { head, ranges };
}

/**
 * Reads and copies go through one window of the work file this large: a few reads a file, not a few per
 * fragment. On a busy event loop each read waits its turn, so their number, not their size, is what costs.
 */
const WINDOW_BYTES = 2 << 20;

/** Fills `buf` from the file at `position`. */
async function readFully(file: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let got = 0; got < buf.length;) {
    const { bytesRead } = await file.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) throw new Error('the work file shrank while it was read');
    got += bytesRead;
  }
}

/** A window onto a file: what was read last, from `start`. */
class Window {
  readonly #file: FileHandle;
  readonly #size: number;
  readonly #buf: Buffer;
  #start = 0;
  #length = 0;

  constructor(file: FileHandle, size: number, bytes: number) {
    this.#file = file;
    this.#size = size;
    this.#buf = Buffer.allocUnsafe(bytes);
  }

  holds(position: number, length: number): boolean {
    return position >= this.#start && position + length <= this.#start + this.#length;
  }

  /** Reads the window from `position` (to the file's end, or as far as it reaches). */
  async fill(position: number): Promise<void> {
    const length = Math.min(this.#buf.length, this.#size - position);
    await readFully(this.#file, this.#buf.subarray(0, length), position);
    this.#start = position;
    this.#length = length;
  }

  /** The bytes at [position, position + length), read when the window does not hold them; valid until the next fill. */
  async view(position: number, length: number): Promise<Buffer> {
    if (length > this.#buf.length) {
      const own = Buffer.allocUnsafe(length);
      await readFully(this.#file, own, position);
      return own;
    }
    if (!this.holds(position, length)) await this.fill(position);
    return this.held(position, length);
  }

  /** The bytes at [position, position + length) the window holds now. */
  held(position: number, length: number): Buffer {
    return this.#buf.subarray(position - this.#start, position - this.#start + length);
  }

  get end(): number {
    return this.#start + this.#length;
  }
}

/** Writes the faststart file of the fragmented MP4 `input` to `output`; throws, writing nothing useful, when it cannot. */
export async function faststartMp4(
  input: string,
  output: string,
  options: { windowBytes?: number } = {},
): Promise<void> {
  const source = await open(input, 'r');
  try {
    const { size } = await source.stat();
    const window = new Window(source, size, options.windowBytes ?? WINDOW_BYTES);
    let moov: Buffer | undefined;
    const fragments: { at: number; moof: Buffer }[] = [];
    for (let at = 0; at + 8 <= size;) {
      const peek = await window.view(at, Math.min(16, size - at));
      const header = boxHeader(peek, 0, peek.length);
      if (!header) throw new Error(`an unreadable box at ${at}`);
      const boxSize = header.size === 0 ? size - at : header.size;
      if (boxSize < header.headerBytes || at + boxSize > size)
        throw new Error(`box ${header.type} at ${at} is cut`);
      // Copied out: the window is read over.
      if (header.type === 'moov') moov = Buffer.from(await window.view(at, boxSize));
      else if (header.type === 'moof')
        fragments.push({ at, moof: Buffer.from(await window.view(at, boxSize)) });
      at += boxSize;
    }
    if (!moov) throw new Error('no moov');
    const plan = planFaststart(moov, fragments);
    for (const range of plan.ranges) {
      if (range.offset < 0 || range.offset + range.length > size)
        throw new Error('a fragment names data past the end');
    }
    const target = await open(output, 'w');
    try {
      // What the window holds is gathered and written at once before the window moves on.
      let pending: Buffer[] = [plan.head];
      const flush = async () => {
        const bytes = pending.reduce((sum, b) => sum + b.length, 0);
        const { bytesWritten } = await target.writev(pending);
        if (bytesWritten !== bytes) throw new Error(`wrote ${bytesWritten} of ${bytes} bytes`);
        pending = [];
      };
      for (const range of plan.ranges) {
        for (let done = 0; done < range.length;) {
          const position = range.offset + done;
          if (!window.holds(position, 1)) {
            await flush();
            await window.fill(position);
          }
          const length = Math.min(range.length - done, window.end - position);
          pending.push(window.held(position, length));
          done += length;
        }
      }
      await flush();
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
