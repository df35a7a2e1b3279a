import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Database as SqliteDatabase } from 'node-sqlite3-wasm';
import type { AudioStreamInfo, VideoStreamInfo } from '../ffmpeg/probe.js';
import { AppError } from '../shared/errors.js';

/** One stored media (a file, or an HLS playlist with its segments), as the VOD actions report it. */
export interface MediaEntry {
  /** The id event 100 carried as file_id. */
  fileId: string;
  /** File name without extension, e.g. `stream1001_2020-02-16-12-12-12_2020-02-16-13-13-13`. */
  name: string;
  /** Storage key of the main object (the .m3u8, .mp4, .flv or .aac). */
  key: string;
  format: string;
  streamId: string;
  /** RTMP app (Tencent's push path). */
  app: string;
  /** Push domain. */
  domain: string;
  /** When the media was stored, Unix ms. */
  createTimeMs: number;
  /** Unix ms; null: kept forever. */
  expireTimeMs: number | null;
  /** First and last media of the file, Unix ms. */
  startMs: number;
  endMs: number;
  size: number;
  /** Seconds. */
  duration: number;
  container: string;
  width: number;
  height: number;
  bitrate: number;
  videoStreams: VideoStreamInfo[];
  audioStreams: AudioStreamInfo[];
  /** The callback's video_id. */
  vid: string;
  taskId: string;
  sourceContext: string;
  /** Storage keys of its thumbnails, once made: the cover, and the scrub sprite with its WebVTT. */
  thumbnails?: MediaThumbnails | undefined;
  /** Its timeline sidecars (markers and live-room events), once written, with what they hold in short. */
  timeline?: MediaTimeline | undefined;
  /** The event 100 that announced it, without what its delivery adds (`t`, `sign`, `event_id`). */
  announcement?: Record<string, unknown> | undefined;
}

/** A media's thumbnails, by storage key. */
export interface MediaThumbnails {
  cover: string;
  sprite?: string | undefined;
  vtt?: string | undefined;
}

/** A media's timeline sidecars, by storage key, and what they hold in short. */
export interface MediaTimeline {
  /** Storage key of `<key>.events.json`. */
  events: string;
  /** Storage key of `<key>.danmaku.vtt`. */
  danmaku: string;
  /** Storage key of `<key>.chapters.vtt`. */
  chapters: string;
  /** Its markers, by media time (seconds from the media's start). */
  markers: { id: string; label: string; seconds: number }[];
  /** How many room messages, and product pushes, the timeline holds. */
  messages: number;
  products: number;
}

/** A search; every given filter must hold (each list matches any of its items). */
export interface MediaQuery {
  fileIds?: readonly string[];
  /** Substrings of the name. */
  names?: readonly string[];
  namePrefixes?: readonly string[];
  streamIds?: readonly string[];
  createdAtOrAfterMs?: number;
  createdBeforeMs?: number;
  /** true: only media whose timeline has a marker; false: only those without (no timeline counts as none). */
  hasMarkers?: boolean;
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
  /** TotalCount stops counting here (Tencent reports at most 5000). */
  countCap: number;
}

export interface MediaSearchResult {
  totalCount: number;
  entries: MediaEntry[];
}

/** What a recording listing is ordered by: the media's start (startMs), its duration, or its size. */
export const RECORDING_SORTS = ['start', 'duration', 'size'] as const;
export type RecordingSort = (typeof RECORDING_SORTS)[number];

/** Defaults of a listing: newest first (and for the other sorts, longest or largest first), 100 a page. */
export const RECORDING_LIST_DEFAULTS = Object.freeze({
  sort: 'start' as RecordingSort,
  order: 'desc' as 'asc' | 'desc',
  limit: 100,
});
export const RECORDING_LIST_MAX_LIMIT = 1000;

/** One page of the recording listing; every given filter must hold. */
export interface RecordingListQuery {
  /** Of the storage key, e.g. `live/` or `live/stream1`. */
  prefix?: string;
  /** The media's start (startMs) is at or after this, Unix ms. */
  fromMs?: number;
  /** The media's start is before this, Unix ms. */
  toMs?: number;
  /** hls, mp4, flv or aac. */
  format?: string;
  sort?: RecordingSort;
  order?: 'asc' | 'desc';
  /** 1..RECORDING_LIST_MAX_LIMIT. */
  limit?: number;
  /** The `next` of the page before; absent: the first page. */
  cursor?: string;
}

/** A page in (sort value, fileId) order. */
export interface RecordingPage {
  entries: MediaEntry[];
  /** The cursor of the page after this one; undefined when no more entries match. */
  next: string | undefined;
}

/** A listing's cursor or limit that cannot be used; the message names the parameter. */
export class InvalidListQueryError extends AppError {
  constructor(
    readonly parameter: 'cursor' | 'limit',
    message: string,
  ) {
    super('INVALID_LIST_QUERY', `${parameter}: ${message}`);
  }
}

/** A listing with its defaults applied and its cursor decoded: what an implementation pages by. */
export interface ListPlan {
  prefix: string | undefined;
  fromMs: number | undefined;
  toMs: number | undefined;
  format: string | undefined;
  sort: RecordingSort;
  order: 'asc' | 'desc';
  limit: number;
  /** The last entry of the page before: this page holds the entries strictly after it. */
  after: { value: number; fileId: string } | undefined;
}

/** Applies the defaults and decodes the cursor (pure); throws InvalidListQueryError. */
export function planList(query: RecordingListQuery): ListPlan {
  const sort = query.sort ?? RECORDING_LIST_DEFAULTS.sort;
  const order = query.order ?? RECORDING_LIST_DEFAULTS.order;
  const limit = query.limit ?? RECORDING_LIST_DEFAULTS.limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > RECORDING_LIST_MAX_LIMIT)
    throw new InvalidListQueryError('limit', `must be a whole number from 1 to ${RECORDING_LIST_MAX_LIMIT}`);
  return {
    prefix: query.prefix,
    fromMs: query.fromMs,
    toMs: query.toMs,
    format: query.format,
    sort,
    order,
    limit,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, sort, order),
  };
}

/** The value an entry is listed by under sort. */
export function sortValueOf(entry: MediaEntry, sort: RecordingSort): number {
  return sort === 'start' ? entry.startMs : sort === 'duration' ? entry.duration : entry.size;
}

/** Whether an entry passes the plan's filters (not the cursor). */
export function matchesPlan(entry: MediaEntry, plan: ListPlan): boolean {
  return (
    (plan.prefix === undefined || entry.key.startsWith(plan.prefix)) &&
    (plan.format === undefined || entry.format === plan.format) &&
    (plan.fromMs === undefined || entry.startMs >= plan.fromMs) &&
    (plan.toMs === undefined || entry.startMs < plan.toMs)
  );
}

/** The page of the first plan.limit of rows; rows holds one more when a page follows. */
export function pageOf(plan: ListPlan, rows: readonly MediaEntry[]): RecordingPage {
  const entries = rows.slice(0, plan.limit);
  const last = entries.at(-1);
  if (rows.length <= plan.limit || !last) return { entries, next: undefined };
  // The sort and order ride along, so a cursor cannot silently continue a different listing.
  const cursor = [plan.sort, plan.order, sortValueOf(last, plan.sort), last.fileId];
  return { entries, next: Buffer.from(JSON.stringify(cursor)).toString('base64url') };
}

function decodeCursor(cursor: string, sort: RecordingSort, order: 'asc' | 'desc'): ListPlan['after'] {
  let decoded: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url');
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 4 ||
    !RECORDING_SORTS.includes(decoded[0] as RecordingSort) ||
    (decoded[1] !== 'asc' && decoded[1] !== 'desc') ||
    typeof decoded[2] !== 'number' ||
    !Number.isFinite(decoded[2]) ||
    typeof decoded[3] !== 'string' ||
    decoded[3] === ''
  )
    throw new InvalidListQueryError(
      'cursor',
      'is not a cursor of this listing (pass the next of a page unchanged)',
    );
  if (decoded[0] !== sort || decoded[1] !== order)
    throw new InvalidListQueryError(
      'cursor',
      `was made for sort=${String(decoded[0])} and order=${String(decoded[1])}; pass those again, or no cursor`,
    );
  return { value: decoded[2], fileId: decoded[3] };
}

/** What the file finisher needs of the index. */
export interface MediaIndexSink {
  add(entry: MediaEntry): Promise<void>;
}

/**
 * The media index, as SearchMedia, DescribeMediaInfos, DeleteMedia and retention use it: one SQLite file on one
 * node, or Redis shared by a cluster. Both implement this, and one conformance suite runs against both.
 */
export interface MediaCatalog extends MediaIndexSink {
  /** Adds or replaces many (imports, benchmarks). */
  addMany(entries: readonly MediaEntry[]): Promise<void>;
  /** The entries of these ids that exist, in no particular order. */
  get(fileIds: readonly string[]): Promise<MediaEntry[]>;
  /** Moves the expiry of the media stored under key (null: never); false when no media has that key. */
  setExpiry(key: string, expireTimeMs: number | null): Promise<boolean>;
  /** Records the thumbnails made of a media; false when it is not indexed (deleted meanwhile). */
  setThumbnails(fileId: string, thumbnails: MediaThumbnails): Promise<boolean>;
  /** Records the timeline of a media; false when it is not indexed (deleted meanwhile: it is not brought back). */
  setTimeline(fileId: string, timeline: MediaTimeline): Promise<boolean>;
  /** Removes one media; false when there was none. */
  remove(fileId: string): Promise<boolean>;
  /** Entries matching the query, by create time then file id, with the (capped) count of all matches. */
  search(query: MediaQuery): Promise<MediaSearchResult>;
  /** A page of entries by (sort value, fileId), after the cursor's entry (keyset paging, no depth limit). */
  list(query: RecordingListQuery): Promise<RecordingPage>;
  close(): Promise<void>;
}

// Above every character a name may hold, so [prefix, prefix + MAX_CHAR] spans exactly the names that start with it
// (U+10FFFF is a noncharacter; a name containing it right after the prefix is the one thing the range would miss).
const MAX_CHAR = '\u{10FFFF}';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS media (
  file_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  format TEXT NOT NULL,
  stream_id TEXT NOT NULL,
  app TEXT NOT NULL,
  domain TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  expire_time INTEGER,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  size INTEGER NOT NULL,
  duration REAL NOT NULL,
  container TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  bitrate INTEGER NOT NULL,
  video_streams TEXT NOT NULL,
  audio_streams TEXT NOT NULL,
  vid TEXT NOT NULL,
  task_id TEXT NOT NULL,
  source_context TEXT NOT NULL,
  thumbnails TEXT,
  announcement TEXT,
  timeline TEXT,
  -- How many markers the timeline has (SearchMedia's HasMarkers).
  markers INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- (name, create_time) covers a prefix search's sort: only the page's rows are read in full.
CREATE INDEX IF NOT EXISTS media_name ON media (name, create_time);
CREATE INDEX IF NOT EXISTS media_stream ON media (stream_id, create_time);
CREATE INDEX IF NOT EXISTS media_create ON media (create_time);
CREATE INDEX IF NOT EXISTS media_key ON media (key);
-- One per sort of the recording listing: a page is a seek to (value, file_id), however deep.
CREATE INDEX IF NOT EXISTS media_list_start ON media (start_time, file_id);
CREATE INDEX IF NOT EXISTS media_list_duration ON media (duration, file_id);
CREATE INDEX IF NOT EXISTS media_list_size ON media (size, file_id);
`;

const LIST_COLUMNS: Readonly<Record<RecordingSort, string>> = Object.freeze({
  start: 'start_time',
  duration: 'duration',
  size: 'size',
});

// A prefix (or, for the other sorts, a start window) matching fewer rows than this is read through its own index and
// sorted (~5 µs a row, so ≤ 10 ms); a broader one is checked along the sort index (~2.5 µs a row walked, about
// limit × rows / matches of them). Either index alone is the slow choice for the other case: 0.5 s a page at 100,000.
const NARROW_ROWS = 2000;

interface Row {
  file_id: string;
  name: string;
  key: string;
  format: string;
  stream_id: string;
  app: string;
  domain: string;
  create_time: number;
  expire_time: number | null;
  start_time: number;
  end_time: number;
  size: number;
  duration: number;
  container: string;
  width: number;
  height: number;
  bitrate: number;
  video_streams: string;
  audio_streams: string;
  vid: string;
  task_id: string;
  source_context: string;
  thumbnails: string | null;
  announcement: string | null;
  timeline: string | null;
  markers: number;
}

// The columns in the order #insert gives them.
const COLUMNS = [
  'file_id',
  'name',
  'key',
  'format',
  'stream_id',
  'app',
  'domain',
  'create_time',
  'expire_time',
  'start_time',
  'end_time',
  'size',
  'duration',
  'container',
  'width',
  'height',
  'bitrate',
  'video_streams',
  'audio_streams',
  'vid',
  'task_id',
  'source_context',
  'thumbnails',
  'announcement',
  'timeline',
  'markers',
];

type SqlValue = string | number | null;

/**
 * The media index: one SQLite file (WebAssembly SQLite, so no native addon to build), one row per media.
 * Calls are synchronous under the hood; one index per file, owned by one process.
 */
export class MediaIndex implements MediaCatalog {
  readonly #db: SqliteDatabase;
  #closed = false;

  private constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  /** Opens (creating if needed) the index at path, e.g. `dataDir/.index/media.sqlite`. */
  static open(path: string): MediaIndex {
    mkdirSync(dirname(path), { recursive: true });
    // The WASM VFS locks with a `<db>.lock` directory; one left by a crash would block the file forever, and
    // only this process uses this data dir, so it is stale by definition. Removing it lets SQLite roll back a
    // hot journal.
    rmSync(`${path}.lock`, { recursive: true, force: true });
    const require = createRequire(import.meta.url);
    const { Database } = require('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
    const db = new Database(path);
    try {
      db.exec('PRAGMA synchronous = FULL;');
      db.exec(SCHEMA);
      // An index made before these columns existed gets them.
      const columns = new Set(
        (db.all('PRAGMA table_info(media)') as unknown as { name: string }[]).map((c) => c.name),
      );
      const added: [string, string][] = [
        ['thumbnails', 'TEXT'],
        ['announcement', 'TEXT'],
        ['timeline', 'TEXT'],
        ['markers', 'INTEGER NOT NULL DEFAULT 0'],
      ];
      for (const [column, type] of added) {
        if (!columns.has(column)) db.exec(`ALTER TABLE media ADD COLUMN ${column} ${type}`);
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return new MediaIndex(db);
  }

  /** Adds or replaces one media; durable (fsynced) when it resolves. */
  async add(entry: MediaEntry): Promise<void> {
    this.#insert(entry);
  }

  /** Adds many in one transaction (imports, benchmarks). */
  async addMany(entries: Iterable<MediaEntry>): Promise<void> {
    this.#db.exec('BEGIN');
    try {
      for (const entry of entries) this.#insert(entry);
      this.#db.exec('COMMIT');
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  #insert(entry: MediaEntry): void {
    this.#db.run(
      `INSERT OR REPLACE INTO media (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
      [
        entry.fileId,
        entry.name,
        entry.key,
        entry.format,
        entry.streamId,
        entry.app,
        entry.domain,
        entry.createTimeMs,
        entry.expireTimeMs,
        entry.startMs,
        entry.endMs,
        entry.size,
        entry.duration,
        entry.container,
        entry.width,
        entry.height,
        entry.bitrate,
        JSON.stringify(entry.videoStreams),
        JSON.stringify(entry.audioStreams),
        entry.vid,
        entry.taskId,
        entry.sourceContext,
        entry.thumbnails ? JSON.stringify(entry.thumbnails) : null,
        entry.announcement ? JSON.stringify(entry.announcement) : null,
        entry.timeline ? JSON.stringify(entry.timeline) : null,
        entry.timeline?.markers.length ?? 0,
      ],
    );
  }

  async setThumbnails(fileId: string, thumbnails: MediaThumbnails): Promise<boolean> {
    return (
      this.#db.run('UPDATE media SET thumbnails = ? WHERE file_id = ?', [JSON.stringify(thumbnails), fileId])
        .changes > 0
    );
  }

  async setTimeline(fileId: string, timeline: MediaTimeline): Promise<boolean> {
    return (
      this.#db.run('UPDATE media SET timeline = ?, markers = ? WHERE file_id = ?', [
        JSON.stringify(timeline),
        timeline.markers.length,
        fileId,
      ]).changes > 0
    );
  }

  /** The entries of these ids that exist, in no particular order. */
  async get(fileIds: readonly string[]): Promise<MediaEntry[]> {
    if (fileIds.length === 0) return [];
    const rows = this.#db.all(`SELECT * FROM media WHERE file_id IN (${fileIds.map(() => '?').join(', ')})`, [
      ...fileIds,
    ]) as unknown as Row[];
    return rows.map(toEntry);
  }

  /** Moves the expiry of the media stored under key (null: never); false when no media has that key. */
  async setExpiry(key: string, expireTimeMs: number | null): Promise<boolean> {
    return this.#db.run('UPDATE media SET expire_time = ? WHERE key = ?', [expireTimeMs, key]).changes > 0;
  }

  /** Removes one media's row; false when there was none. */
  async remove(fileId: string): Promise<boolean> {
    return this.#db.run('DELETE FROM media WHERE file_id = ?', fileId).changes > 0;
  }

  /** Entries matching the query, by create time then file id, with the (capped) count of all matches. */
  async search(query: MediaQuery): Promise<MediaSearchResult> {
    const where: string[] = [];
    const values: SqlValue[] = [];
    const anyOf = (column: string, list: readonly string[] | undefined) => {
      if (!list?.length) return;
      where.push(`${column} IN (${list.map(() => '?').join(', ')})`);
      values.push(...list);
    };
    anyOf('file_id', query.fileIds);
    anyOf('stream_id', query.streamIds);
    if (query.namePrefixes?.length) {
      // A range per prefix, so SQLite searches the name index (a LIKE would need a case-insensitive index).
      where.push(`(${query.namePrefixes.map(() => '(name >= ? AND name <= ?)').join(' OR ')})`);
      for (const prefix of query.namePrefixes) values.push(prefix, prefix + MAX_CHAR);
    }
    if (query.names?.length) {
      where.push(`(${query.names.map(() => "name LIKE ? ESCAPE '\\'").join(' OR ')})`);
      for (const name of query.names) values.push(`%${name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (query.createdAtOrAfterMs !== undefined) {
      where.push('create_time >= ?');
      values.push(query.createdAtOrAfterMs);
    }
    if (query.createdBeforeMs !== undefined) {
      where.push('create_time < ?');
      values.push(query.createdBeforeMs);
    }
    if (query.hasMarkers !== undefined) where.push(query.hasMarkers ? 'markers > 0' : 'markers = 0');
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const dir = query.order === 'asc' ? 'ASC' : 'DESC';
    const order = `ORDER BY create_time ${dir}, file_id ${dir}`;
    // The page is picked from the indexes alone; only its rows are read in full.
    const entries = (
      this.#db.all(
        `SELECT * FROM media WHERE file_id IN (SELECT file_id FROM media ${clause} ${order} LIMIT ? OFFSET ?) ${order}`,
        [...values, query.limit, query.offset],
      ) as unknown as Row[]
    ).map(toEntry);
    const counted = this.#db.get(`SELECT count(*) AS n FROM (SELECT 1 FROM media ${clause} LIMIT ?)`, [
      ...values,
      query.countCap,
    ]) as { n: number } | null;
    return { totalCount: counted?.n ?? 0, entries };
  }

  /** A page of entries by (sort value, fileId), after the cursor's entry (keyset paging, no depth limit). */
  async list(query: RecordingListQuery): Promise<RecordingPage> {
    const plan = planList(query);
    const { sql, values } = this.#listStatement(plan);
    return pageOf(plan, (this.#db.all(sql, values) as unknown as Row[]).map(toEntry));
  }

  /** SQLite's plan for a listing, for tests that check a page is an index seek. */
  explainList(query: RecordingListQuery): string[] {
    const { sql, values } = this.#listStatement(planList(query));
    return this.explain(sql, values);
  }

  #listStatement(plan: ListPlan): { sql: string; values: SqlValue[] } {
    const column = LIST_COLUMNS[plan.sort];
    const asc = plan.order === 'asc';
    let { fromMs, toMs } = plan;
    let after = plan.after;
    if (after && plan.sort === 'start') {
      // The cursor and the window bound one column: only the tighter bound is kept, as two would not both be seeks.
      if (asc && fromMs !== undefined) {
        if (after.value >= fromMs) fromMs = undefined;
        else after = undefined;
      }
      if (!asc && toMs !== undefined) {
        if (after && after.value < toMs) toMs = undefined;
        else after = undefined;
      }
    }
    const where: string[] = [];
    const values: SqlValue[] = [];
    if (plan.prefix !== undefined) {
      where.push('key >= ? AND key <= ?');
      values.push(plan.prefix, plan.prefix + MAX_CHAR);
    }
    if (plan.format !== undefined) {
      where.push('format = ?');
      values.push(plan.format);
    }
    if (fromMs !== undefined) {
      where.push('start_time >= ?');
      values.push(fromMs);
    }
    if (toMs !== undefined) {
      where.push('start_time < ?');
      values.push(toMs);
    }
    if (after) {
      where.push(`(${column}, file_id) ${asc ? '>' : '<'} (?, ?)`);
      values.push(after.value, after.fileId);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const dir = asc ? 'ASC' : 'DESC';
    return {
      sql: `SELECT * FROM media INDEXED BY ${this.#listIndex(plan)} ${clause} ORDER BY ${column} ${dir}, file_id ${dir} LIMIT ?`,
      values: [...values, plan.limit + 1],
    };
  }

  /** The index a listing walks: the sort's own, unless a filter is narrow enough to read whole and sort. */
  #listIndex(plan: ListPlan): string {
    const rows = (where: string, values: SqlValue[]) =>
      (
        this.#db.get(`SELECT count(*) AS n FROM (SELECT 1 FROM media WHERE ${where} LIMIT ?)`, [
          ...values,
          NARROW_ROWS,
        ]) as { n: number }
      ).n;
    const narrow: { index: string; n: number }[] = [];
    if (plan.prefix !== undefined) {
      const n = rows('key >= ? AND key <= ?', [plan.prefix, plan.prefix + MAX_CHAR]);
      narrow.push({ index: 'media_key', n });
    }
    if (plan.sort !== 'start' && (plan.fromMs !== undefined || plan.toMs !== undefined)) {
      const window = [
        ...(plan.fromMs !== undefined ? ['start_time >= ?'] : []),
        ...(plan.toMs !== undefined ? ['start_time < ?'] : []),
      ];
      const bounds = [plan.fromMs, plan.toMs].filter((v): v is number => v !== undefined);
      narrow.push({ index: 'media_list_start', n: rows(window.join(' AND '), bounds) });
    }
    const best = narrow.filter((c) => c.n < NARROW_ROWS).sort((a, b) => a.n - b.n)[0];
    return best?.index ?? `media_list_${plan.sort}`;
  }

  /** SQLite's plan for a query, for tests that check an index is used. */
  explain(sql: string, values: SqlValue[]): string[] {
    return (this.#db.all(`EXPLAIN QUERY PLAN ${sql}`, values) as { detail: string }[]).map((r) => r.detail);
  }

  /** Closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

function toEntry(row: Row): MediaEntry {
  return {
    fileId: row.file_id,
    name: row.name,
    key: row.key,
    format: row.format,
    streamId: row.stream_id,
    app: row.app,
    domain: row.domain,
    createTimeMs: row.create_time,
    expireTimeMs: row.expire_time,
    startMs: row.start_time,
    endMs: row.end_time,
    size: row.size,
    duration: row.duration,
    container: row.container,
    width: row.width,
    height: row.height,
    bitrate: row.bitrate,
    videoStreams: JSON.parse(row.video_streams) as VideoStreamInfo[],
    audioStreams: JSON.parse(row.audio_streams) as AudioStreamInfo[],
    vid: row.vid,
    taskId: row.task_id,
    sourceContext: row.source_context,
    ...(row.thumbnails ? { thumbnails: JSON.parse(row.thumbnails) as MediaThumbnails } : {}),
    ...(row.announcement ? { announcement: JSON.parse(row.announcement) as Record<string, unknown> } : {}),
    ...(row.timeline ? { timeline: JSON.parse(row.timeline) as MediaTimeline } : {}),
  };
}
