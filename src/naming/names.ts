import { NAME_PLACEHOLDERS, type RecordFormat } from '../config/schema.js';
import { AppError, InvalidNameError } from '../shared/errors.js';

/** How file names are rendered: a Tencent `fileNameTemplate` and the IANA zone of its date fields. */
export interface NameOptions {
  template: string;
  timeZone: string;
}

const SAFE_COMPONENT = /^[A-Za-z0-9_.~%-]{1,128}$/;
const STREAM_ID_PATTERN = '[A-Za-z0-9_.~%-]{1,128}';
const MAX_FILE_NAME_BYTES = 255;
const MAX_FREE_TRIES = 10_000;

function show(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isSafeComponent(value: string): boolean {
  return SAFE_COMPONENT.test(value) && !value.startsWith('.');
}

/** Validates a stream id, app or userdefinerecordid for names and keys; returns it or throws. */
export function assertSafeComponent(kind: string, value: string): string {
  if (typeof value !== 'string' || !isSafeComponent(value)) {
    throw new InvalidNameError(
      `invalid ${kind} ${typeof value === 'string' ? show(value) : String(value)}: ` +
        'must be 1..128 characters of A-Z a-z 0-9 _ . ~ % - and not start with "."',
    );
  }
  return value;
}

/** File extension per format: hls->'m3u8', flv->'flv', mp4->'mp4', aac->'aac'. */
export function extensionOf(format: RecordFormat): string {
  switch (format) {
    case 'hls':
      return 'm3u8';
    case 'flv':
      return 'flv';
    case 'mp4':
      return 'mp4';
    case 'aac':
      return 'aac';
    default:
      throw new InvalidNameError(`unknown record format ${show(String(format satisfies never))}`);
  }
}

// ---- wall-clock fields in a zone ----

const UNITS = ['Year', 'Month', 'Day', 'Hour', 'Minute', 'Second', 'Millisecond'] as const;
type Unit = (typeof UNITS)[number];
type Side = 'Start' | 'End';
type Wall = Record<Unit, number>;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    // h23: some ICU versions print midnight as "24" under hour12:false.
    fmt = new Intl.DateTimeFormat('en-US-u-ca-gregory-nu-latn', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, fmt);
  }
  return fmt;
}

function wallAt(timeZone: string, ms: number): Wall {
  const wall: Wall = { Year: 0, Month: 0, Day: 0, Hour: 0, Minute: 0, Second: 0, Millisecond: 0 };
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    switch (part.type) {
      case 'year':
        wall.Year = Number(part.value);
        break;
      case 'month':
        wall.Month = Number(part.value);
        break;
      case 'day':
        wall.Day = Number(part.value);
        break;
      case 'hour':
        wall.Hour = Number(part.value);
        break;
      case 'minute':
        wall.Minute = Number(part.value);
        break;
      case 'second':
        wall.Second = Number(part.value);
        break;
    }
  }
  wall.Millisecond = ((ms % 1000) + 1000) % 1000;
  return wall;
}

/** The wall-clock fields read as if they were UTC, in epoch milliseconds. */
function wallAsUtc(w: Wall): number {
  const d = new Date(0);
  d.setUTCFullYear(w.Year, w.Month - 1, w.Day); // Date.UTC would map years 0..99 to 1900..1999
  d.setUTCHours(w.Hour, w.Minute, w.Second, w.Millisecond);
  return d.getTime();
}

function offsetAt(timeZone: string, ms: number): number {
  return wallAsUtc(wallAt(timeZone, ms)) - ms;
}

/** Every instant whose wall clock in the zone shows w, earliest first: none in a DST gap, two in a repeat. */
function instantsOf(timeZone: string, w: Wall): number[] {
  const local = wallAsUtc(w);
  const day = 86_400_000;
  // Offsets a day either side bracket any single transition near this wall time.
  const offsets = new Set([
    offsetAt(timeZone, local - day),
    offsetAt(timeZone, local),
    offsetAt(timeZone, local + day),
  ]);
  const found = new Set<number>();
  for (const offset of offsets) {
    const t = local - offset;
    if (offsetAt(timeZone, t) === offset) found.add(t);
  }
  return [...found].sort((a, b) => a - b);
}

// ---- templates ----

type Piece = { kind: 'text'; text: string } | { kind: 'stream' } | { kind: 'date'; side: Side; unit: Unit };

interface CompiledTemplate {
  head: Piece[];
  /** The '_'/'-' run trimmed off the head; the tail is rendered after it. */
  separator: string;
  tail: Piece[];
  pattern: RegExp;
  fields: Record<Side, Set<Unit>>;
}

const templates = new Map<string, CompiledTemplate>();
const DISAMBIGUATOR_GROUP = 'disambiguator';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function pieceFor(name: string, template: string): Piece {
  if (!(NAME_PLACEHOLDERS as readonly string[]).includes(name)) {
    throw new InvalidNameError(`unknown placeholder {${name}} in file name template ${show(template)}`);
  }
  if (name === 'StreamID') return { kind: 'stream' };
  const m = /^(Start|End)(Year|Month|Day|Hour|Minute|Second|Millisecond)$/.exec(name);
  if (!m) throw new InvalidNameError(`placeholder {${name}} is not supported by the naming module`);
  return { kind: 'date', side: m[1] as Side, unit: m[2] as Unit };
}

function compile(template: string): CompiledTemplate {
  const cached = templates.get(template);
  if (cached) return cached;
  if (/[/\\\0]/.test(template)) {
    throw new InvalidNameError(`file name template ${show(template)} must not contain "/", "\\" or NUL`);
  }
  const pieces: Piece[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (m.index > last) pieces.push({ kind: 'text', text: template.slice(last, m.index) });
    pieces.push(pieceFor(m[1]!, template));
    last = m.index + m[0].length;
  }
  if (last < template.length) pieces.push({ kind: 'text', text: template.slice(last) });
  if (!pieces.some((p) => p.kind === 'stream')) {
    throw new InvalidNameError(`file name template ${show(template)} must contain {StreamID}`);
  }

  const firstEnd = pieces.findIndex((p) => p.kind === 'date' && p.side === 'End');
  const head = firstEnd < 0 ? pieces : pieces.slice(0, firstEnd);
  const tail = firstEnd < 0 ? [] : pieces.slice(firstEnd);
  let separator = '';
  const lastHead = head.at(-1);
  if (firstEnd >= 0 && lastHead?.kind === 'text') {
    const trimmed = lastHead.text.replace(/[_-]+$/, '');
    separator = lastHead.text.slice(trimmed.length);
    head.splice(-1, 1, ...(trimmed ? [{ kind: 'text' as const, text: trimmed }] : []));
  }

  const fields: Record<Side, Set<Unit>> = { Start: new Set(), End: new Set() };
  const seen = new Set<string>();
  const source = (list: Piece[]): string =>
    list
      .map((p) => {
        if (p.kind === 'text') return escapeRegExp(p.text);
        const group = p.kind === 'stream' ? 'StreamID' : `${p.side}${p.unit}`;
        // A repeated placeholder must repeat the same text.
        if (seen.has(group)) return `\\k<${group}>`;
        seen.add(group);
        if (p.kind === 'stream') return `(?<${group}>${STREAM_ID_PATTERN})`;
        fields[p.side].add(p.unit);
        const width = p.unit === 'Year' ? 4 : p.unit === 'Millisecond' ? 3 : 2;
        return `(?<${group}>[0-9]{${width}})`;
      })
      .join('');
  const pattern = new RegExp(
    `^${source(head)}(?:_(?<${DISAMBIGUATOR_GROUP}>[1-9][0-9]*))?${escapeRegExp(separator)}${source(tail)}$`,
  );
  const compiled: CompiledTemplate = { head, separator, tail, pattern, fields };
  templates.set(template, compiled);
  return compiled;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Tencent's time text, `YYYY-MM-DD HH:MM:SS`, of a Unix time in a zone (API answers such as a rule's CreateTime). */
export function tencentTimeText(ms: number, timeZone: string): string {
  const w = wallAt(timeZone, ms);
  return `${pad(w.Year, 4)}-${pad(w.Month, 2)}-${pad(w.Day, 2)} ${pad(w.Hour, 2)}:${pad(w.Minute, 2)}:${pad(w.Second, 2)}`;
}

function renderPieces(pieces: Piece[], streamId: string, walls: Record<Side, Wall | undefined>): string {
  return pieces
    .map((p) => {
      if (p.kind === 'text') return p.text;
      if (p.kind === 'stream') return streamId;
      const wall = walls[p.side]!;
      const width = p.unit === 'Year' ? 4 : p.unit === 'Millisecond' ? 3 : 2;
      return pad(wall[p.unit], width);
    })
    .join('');
}

function checkDate(what: string, date: Date): number {
  const ms = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is not a valid Date`);
  return ms;
}

function checkDisambiguator(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`disambiguator must be an integer >= 0, got ${n}`);
  return n;
}

/** The recording's head: the template before its first {End...}, '_'/'-' trimmed, plus `_${n}` if n>0. */
export function renderHead(opts: NameOptions, streamId: string, start: Date, disambiguator = 0): string {
  const t = compile(opts.template);
  assertSafeComponent('stream id', streamId);
  const n = checkDisambiguator(disambiguator);
  const walls = { Start: wallAt(opts.timeZone, checkDate('start', start)), End: undefined };
  return renderPieces(t.head, streamId, walls) + (n > 0 ? `_${n}` : '');
}

/** Full base name (no extension): renderHead(...) + the trimmed separator and the rest of the template. */
export function renderFileName(
  opts: NameOptions,
  streamId: string,
  start: Date,
  end: Date,
  disambiguator = 0,
): string {
  const t = compile(opts.template);
  const head = renderHead(opts, streamId, start, disambiguator);
  const walls = {
    Start: wallAt(opts.timeZone, start.getTime()),
    End: wallAt(opts.timeZone, checkDate('end', end)),
  };
  return head + t.separator + renderPieces(t.tail, streamId, walls);
}

/** HLS segment file name for a recording head: `${head}_${seq zero-padded to 6}.ts` (`.m4s` for fMP4). */
export function segmentFileName(head: string, seq: number, extension: 'ts' | 'm4s' = 'ts'): string {
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new RangeError(`segment number must be an integer >= 0, got ${seq}`);
  return `${head}_${pad(seq, 6)}.${extension}`;
}

/** Playlist that names the segments stored so far while a recording goes on; the final playlist replaces it. */
export function livePlaylistFileName(head: string): string {
  return `${head}.live.m3u8`;
}

/** Decodes a base name made by renderFileName (times in opts.timeZone), or null if it does not match. */
export function parseFileName(
  opts: NameOptions,
  baseName: string,
): { streamId: string; start: Date; end: Date; disambiguator: number } | null {
  const t = compile(opts.template);
  const groups = t.pattern.exec(baseName)?.groups;
  if (!groups) return null;
  const streamId = groups.StreamID!;
  if (!isSafeComponent(streamId)) return null;
  const disambiguator = groups[DISAMBIGUATOR_GROUP] === undefined ? 0 : Number(groups[DISAMBIGUATOR_GROUP]);
  if (!Number.isSafeInteger(disambiguator)) return null;

  // A field missing on one side comes from the other (not ms); time defaults to 0, the date is required.
  const wallOf = (side: Side, other: Side): Wall | null => {
    const wall = {} as Wall;
    for (const unit of UNITS) {
      const text =
        groups[`${side}${unit}`] ?? (unit === 'Millisecond' ? undefined : groups[`${other}${unit}`]);
      if (text === undefined && (unit === 'Year' || unit === 'Month' || unit === 'Day')) return null;
      wall[unit] = text === undefined ? 0 : Number(text);
    }
    return wall;
  };
  const startWall = wallOf('Start', 'End');
  const endWall = wallOf('End', 'Start');
  if (!startWall || !endWall) return null;
  const startMs = instantsOf(opts.timeZone, startWall)[0];
  if (startMs === undefined) return null;
  const ends = instantsOf(opts.timeZone, endWall);
  // In a repeated (DST fall-back) hour, take the first end not before the start.
  const endMs = ends.find((e) => e >= startMs) ?? ends[0];
  if (endMs === undefined) return null;
  // A side without fields in the template was not recorded: it is the other side's instant.
  const start = new Date(t.fields.Start.size > 0 ? startMs : endMs);
  const end = new Date(t.fields.End.size > 0 ? endMs : startMs);
  // Re-rendering rejects impossible dates (Feb 30, a DST gap) and out-of-range fields.
  if (renderFileName(opts, streamId, start, end, disambiguator) !== baseName) return null;
  return { streamId, start, end, disambiguator };
}

/** Storage key of a file: `${app}/${fileName}`, with app and fileName validated; throws InvalidNameError. */
export function objectKey(app: string, fileName: string): string {
  assertSafeComponent('app', app);
  if (typeof fileName !== 'string' || fileName.length === 0) {
    throw new InvalidNameError(`invalid file name ${show(String(fileName))}: must not be empty`);
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is rejected
  if (/[/\\\x00-\x1f\x7f]/.test(fileName)) {
    throw new InvalidNameError(
      `invalid file name ${show(fileName)}: must not contain "/", "\\" or control characters`,
    );
  }
  if (fileName.startsWith('.')) {
    throw new InvalidNameError(`invalid file name ${show(fileName)}: must not start with "."`);
  }
  if (Buffer.byteLength(fileName, 'utf8') > MAX_FILE_NAME_BYTES) {
    throw new InvalidNameError(
      `invalid file name ${show(fileName)}: longer than ${MAX_FILE_NAME_BYTES} bytes`,
    );
  }
  return `${app}/${fileName}`;
}

/** Picks the first of candidate(0), candidate(1), ... not taken (at most 10000 tries, then throws). */
export function firstFree(candidate: (n: number) => string, isTaken: (name: string) => boolean): string {
  for (let n = 0; n < MAX_FREE_TRIES; n++) {
    const name = candidate(n);
    if (!isTaken(name)) return name;
  }
  throw new AppError(
    'NAME_EXHAUSTED',
    `no free name among ${MAX_FREE_TRIES} candidates from ${show(candidate(0))}`,
  );
}

/** Where a media's thumbnails are stored: beside it, named after its key (its format included). */
export function thumbnailKeys(key: string): { cover: string; sprite: string; vtt: string } {
  return { cover: `${key}.jpg`, sprite: `${key}.sprite.jpg`, vtt: `${key}.vtt` };
}

/** Where a media's timeline sidecars are stored: beside it, named after its key (its format included). */
export function sidecarKeys(key: string): { events: string; danmaku: string; chapters: string } {
  return { events: `${key}.events.json`, danmaku: `${key}.danmaku.vtt`, chapters: `${key}.chapters.vtt` };
}
