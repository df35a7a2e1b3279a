import type { ChainableCommander, Redis } from 'ioredis';
import {
  matchesPlan,
  pageOf,
  planList,
  RECORDING_SORTS,
  sortValueOf,
  type ListPlan,
  type MediaCatalog,
  type MediaEntry,
  type MediaQuery,
  type MediaThumbnails,
  type MediaTimeline,
  type MediaSearchResult,
  type RecordingListQuery,
  type RecordingPage,
  type RecordingSort,
} from '../media/media-index.js';

// Adds the listing members of media indexed before the listing existed, each only if its entry is still the one read
// (a media removed or replaced meanwhile was unindexed or reindexed by that change). KEYS: the three listing sets,
// then one entry key per media; ARGV: per media, the entry's JSON and its three members.
const BACKFILL = `
for i = 1, #KEYS - 3 do
  if redis.call('GET', KEYS[3 + i]) == ARGV[4 * i - 3] then
    redis.call('ZADD', KEYS[1], 0, ARGV[4 * i - 2])
    redis.call('ZADD', KEYS[2], 0, ARGV[4 * i - 1])
    redis.call('ZADD', KEYS[3], 0, ARGV[4 * i])
  end
end
return 1
`;

// Sets a media's timeline only while its entry is there, and keeps the set of media with markers in step.
// KEYS: the entry, the markers set; ARGV: the entry's new JSON, '1' when it has markers, its FileId.
const SET_TIMELINE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then redis.call('SADD', KEYS[2], ARGV[3]) else redis.call('SREM', KEYS[2], ARGV[3]) end
return 1
`;

/** Members read per round of a listing, at most; a filtered page reads rounds until it has its entries. */
const LIST_ROUND_MAX = 1000;

/**
 * The media index in Redis, shared by every node. Per media: its entry as JSON (`e:<fileId>`). Indexes: a sorted
 * set by create time (ties ordered by FileId, as SQLite's ORDER BY create_time, file_id), one by name (scores 0,
 * members `name \0 fileId`, so a prefix is one ZRANGE BYLEX), one per stream id by create time, and the storage
 * key's FileId (for a change of expiry), and the set of FileIds whose timeline has markers.
 *
 * A search takes the narrowest index its filters allow, then filters, sorts and pages the candidates here. A
 * query by time alone pages in Redis.
 *
 * The recording listing has one set per sort (scores 0, members `sortable(value) fileId`), so (value, fileId) order
 * is byte order and a page is one ZRANGEBYLEX after the cursor's member, exact for ties and for a cursor whose
 * media is gone. Filters other than the start window are checked on the entries, reading on until the page is full.
 */
export class RedisMediaIndex implements MediaCatalog {
  readonly #p: string;

  constructor(
    readonly client: Redis,
    keyPrefix: string,
  ) {
    this.#p = `${keyPrefix}media:`;
  }

  #entryKey = (fileId: string) => `${this.#p}e:${fileId}`;
  #streamKey = (streamId: string) => `${this.#p}stream:${streamId}`;
  #objectKey = (key: string) => `${this.#p}key:${key}`;
  get #byCreate() {
    return `${this.#p}by-create`;
  }
  get #byName() {
    return `${this.#p}by-name`;
  }
  get #withMarkers() {
    return `${this.#p}with-markers`;
  }
  #listKey = (sort: RecordingSort) => `${this.#p}list:${sort}`;
  // Set once every media indexed before the listing existed is in its sets.
  get #listBackfilled() {
    return `${this.#p}list:backfilled`;
  }
  #backfill: Promise<void> | undefined;

  /** Adds or replaces one media: its entry and its index members in one transaction. */
  async add(entry: MediaEntry): Promise<void> {
    await this.addMany([entry]);
  }

  async addMany(entries: readonly MediaEntry[]): Promise<void> {
    const BATCH = 1000;
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      // A media added again (a retried announce) may have changed: its old index members go first.
      const before = await this.#entries(batch.map((e) => e.fileId));
      const tx = this.client.multi();
      for (const old of before) this.#unindex(tx, old);
      for (const entry of batch) {
        tx.set(this.#entryKey(entry.fileId), JSON.stringify(entry));
        tx.zadd(this.#byCreate, entry.createTimeMs, entry.fileId);
        tx.zadd(this.#byName, 0, `${entry.name}\0${entry.fileId}`);
        tx.zadd(this.#streamKey(entry.streamId), entry.createTimeMs, entry.fileId);
        tx.set(this.#objectKey(entry.key), entry.fileId);
        for (const sort of RECORDING_SORTS) tx.zadd(this.#listKey(sort), 0, listMember(entry, sort));
        if (entry.timeline?.markers.length) tx.sadd(this.#withMarkers, entry.fileId);
      }
      await exec(tx);
    }
  }

  #unindex(tx: ChainableCommander, entry: MediaEntry): void {
    tx.zrem(this.#byCreate, entry.fileId);
    tx.zrem(this.#byName, `${entry.name}\0${entry.fileId}`);
    tx.zrem(this.#streamKey(entry.streamId), entry.fileId);
    tx.del(this.#objectKey(entry.key));
    for (const sort of RECORDING_SORTS) tx.zrem(this.#listKey(sort), listMember(entry, sort));
    tx.srem(this.#withMarkers, entry.fileId);
  }

  async get(fileIds: readonly string[]): Promise<MediaEntry[]> {
    return this.#entries(fileIds);
  }

  async #entries(fileIds: readonly string[]): Promise<MediaEntry[]> {
    if (fileIds.length === 0) return [];
    const values = await this.client.mget(...fileIds.map(this.#entryKey));
    return values.flatMap((v) => (v ? [JSON.parse(v) as MediaEntry] : []));
  }

  async setExpiry(key: string, expireTimeMs: number | null): Promise<boolean> {
    const fileId = await this.client.get(this.#objectKey(key));
    const [entry] = fileId ? await this.#entries([fileId]) : [];
    if (!entry) return false;
    await this.client.set(this.#entryKey(entry.fileId), JSON.stringify({ ...entry, expireTimeMs }));
    return true;
  }

  async setThumbnails(fileId: string, thumbnails: MediaThumbnails): Promise<boolean> {
    const [entry] = await this.#entries([fileId]);
    if (!entry) return false;
    // Only while the entry is there: a media deleted meanwhile is not brought back.
    const set = await this.client.set(this.#entryKey(fileId), JSON.stringify({ ...entry, thumbnails }), 'XX');
    return set === 'OK';
  }

  async setTimeline(fileId: string, timeline: MediaTimeline): Promise<boolean> {
    const [entry] = await this.#entries([fileId]);
    if (!entry) return false;
    // Only while the entry is there: a media deleted meanwhile is not brought back, nor left in the markers set.
    const set = await this.client.eval(
      SET_TIMELINE,
      2,
      this.#entryKey(fileId),
      this.#withMarkers,
      JSON.stringify({ ...entry, timeline }),
      timeline.markers.length > 0 ? '1' : '0',
      fileId,
    );
    return set === 1;
  }

  async remove(fileId: string): Promise<boolean> {
    const [entry] = await this.#entries([fileId]);
    if (!entry) return false;
    const tx = this.client.multi();
    this.#unindex(tx, entry);
    tx.del(this.#entryKey(fileId));
    await exec(tx);
    return true;
  }

  async search(query: MediaQuery): Promise<MediaSearchResult> {
    const lo = query.createdAtOrAfterMs ?? '-inf';
    const hi = query.createdBeforeMs === undefined ? '+inf' : `(${query.createdBeforeMs}`;
    const narrowed =
      query.fileIds?.length ||
      query.namePrefixes?.length ||
      query.streamIds?.length ||
      query.names?.length ||
      query.hasMarkers !== undefined;
    if (!narrowed) return this.#searchByTime(query, lo, hi);

    // The candidates of the narrowest filter given; the others are checked on them.
    let candidates: Set<string> | undefined;
    const narrow = (ids: Iterable<string>) => {
      const next = new Set(ids);
      candidates = candidates ? new Set([...candidates].filter((id) => next.has(id))) : next;
    };
    if (query.fileIds?.length) narrow(query.fileIds);
    if (query.hasMarkers === true) narrow(await this.client.smembers(this.#withMarkers));
    if (query.streamIds?.length) {
      const lists = await Promise.all(
        query.streamIds.map((s) => this.client.zrangebyscore(this.#streamKey(s), lo, hi)),
      );
      narrow(lists.flat());
    }
    if (query.namePrefixes?.length) {
      const lists = await Promise.all(query.namePrefixes.map((prefix) => this.#namesFrom(prefix)));
      narrow(lists.flat().map(fileIdOf));
    }
    if (query.names?.length) {
      // No index serves a substring: every name is read (SearchMedia's Names are rare and the set is compact).
      // Case-insensitive, as SQLite's LIKE is.
      const wanted = query.names.map((n) => n.toLowerCase());
      const holds = (name: string) => wanted.some((n) => name.toLowerCase().includes(n));
      const names =
        candidates && candidates.size < 5000
          ? (await this.#entries([...candidates])).filter((e) => holds(e.name)).map((e) => e.fileId)
          : (await this.client.zrange(this.#byName, '0', '-1')).filter((m) => holds(nameOf(m))).map(fileIdOf);
      narrow(names);
    }
    if (query.hasMarkers === false) {
      // The complement of the markers set: of the candidates, or else of every media in the time window.
      const pool = candidates ? [...candidates] : await this.client.zrangebyscore(this.#byCreate, lo, hi);
      const marked = pool.length ? await this.client.smismember(this.#withMarkers, ...pool) : [];
      candidates = new Set(pool.filter((_, i) => !marked[i]));
    }
    const ids = [...(candidates ?? [])];
    const scores = ids.length ? await this.client.zmscore(this.#byCreate, ...ids) : [];
    const after = query.createdAtOrAfterMs ?? -Infinity;
    const before = query.createdBeforeMs ?? Infinity;
    const rows = ids
      .map((id, i) => ({ id, at: scores[i] === null || scores[i] === undefined ? NaN : Number(scores[i]) }))
      .filter((r) => r.at >= after && r.at < before);
    const sign = query.order === 'asc' ? 1 : -1;
    rows.sort((a, b) => sign * (a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
    const page = rows.slice(query.offset, query.offset + query.limit).map((r) => r.id);
    return { totalCount: Math.min(rows.length, query.countCap), entries: await this.#inOrder(page) };
  }

  /** A query by create time alone: paged by Redis from the create-time index. */
  async #searchByTime(query: MediaQuery, lo: number | string, hi: string): Promise<MediaSearchResult> {
    const [ids, count] = await Promise.all([
      query.order === 'asc'
        ? this.client.zrangebyscore(this.#byCreate, lo, hi, 'LIMIT', query.offset, query.limit)
        : this.client.zrevrangebyscore(this.#byCreate, hi, lo, 'LIMIT', query.offset, query.limit),
      this.client.zcount(this.#byCreate, lo, hi),
    ]);
    return { totalCount: Math.min(count, query.countCap), entries: await this.#inOrder(ids) };
  }

  /**
   * A page of entries by (sort value, fileId), after the cursor's entry. The start window narrows the range read;
   * the other filters are checked here, so a selective one reads many members per page (up to the whole set).
   */
  async list(query: RecordingListQuery): Promise<RecordingPage> {
    const plan = planList(query);
    await this.#backfilled();
    const set = this.#listKey(plan.sort);
    let { min, max } = listRange(plan);
    const asc = plan.order === 'asc';
    const rows: MediaEntry[] = [];
    // One more than the page, so `next` is set only when another entry matches.
    let round = plan.limit + 1;
    for (;;) {
      const members = asc
        ? await this.client.zrangebylex(set, min, max, 'LIMIT', 0, round)
        : await this.client.zrevrangebylex(set, max, min, 'LIMIT', 0, round);
      const entries = await this.#entries(members.map(fileIdOfListMember));
      const byId = new Map(entries.map((e) => [e.fileId, e]));
      for (const member of members) {
        const entry = byId.get(fileIdOfListMember(member));
        // A member whose entry is gone or has another value is stale (a backfill race); the entry has its own.
        if (!entry || listMember(entry, plan.sort) !== member || !matchesPlan(entry, plan)) continue;
        rows.push(entry);
        if (rows.length > plan.limit) return pageOf(plan, rows);
      }
      if (members.length < round) return pageOf(plan, rows);
      if (asc) min = `(${members.at(-1)!}`;
      else max = `(${members.at(-1)!}`;
      round = Math.min(round * 2, LIST_ROUND_MAX);
    }
  }

  /** Once per cluster: puts the media indexed before the listing existed into its sets. */
  #backfilled(): Promise<void> {
    this.#backfill ??= this.#runBackfill().catch((err: unknown) => {
      this.#backfill = undefined;
      throw err;
    });
    return this.#backfill;
  }

  async #runBackfill(): Promise<void> {
    if (await this.client.exists(this.#listBackfilled)) return;
    // ZSCAN returns every member present throughout, so none is skipped while others come and go.
    let cursor = '0';
    do {
      const [next, flat] = await this.client.zscan(this.#byCreate, cursor, 'COUNT', 1000);
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length === 0) continue;
      const raws = await this.client.mget(...ids.map(this.#entryKey));
      const keys: string[] = [];
      const args: string[] = [];
      raws.forEach((raw, i) => {
        if (!raw) return;
        const entry = JSON.parse(raw) as MediaEntry;
        keys.push(this.#entryKey(ids[i]!));
        args.push(raw, ...RECORDING_SORTS.map((sort) => listMember(entry, sort)));
      });
      if (keys.length === 0) continue;
      await this.client.eval(
        BACKFILL,
        keys.length + 3,
        ...RECORDING_SORTS.map(this.#listKey),
        ...keys,
        ...args,
      );
    } while (cursor !== '0');
    await this.client.set(this.#listBackfilled, '1');
  }

  /** The name index's members that start with prefix (byte order, as Redis compares them). */
  #namesFrom(prefix: string): Promise<string[]> {
    const start = Buffer.from(`[${prefix}`);
    // 0xff never occurs in UTF-8, so it sorts after every name that starts with prefix.
    const end = Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]);
    return this.client.zrangebylex(this.#byName, start, end);
  }

  async #inOrder(ids: readonly string[]): Promise<MediaEntry[]> {
    const found = new Map((await this.#entries(ids)).map((e) => [e.fileId, e]));
    return ids.flatMap((id) => {
      const entry = found.get(id);
      return entry ? [entry] : [];
    });
  }

  /** The connection is the cluster's; it closes with it. */
  async close(): Promise<void> {}
}

/** 16 hex digits whose byte order is the number order of value (IEEE 754 bits, sign-flipped). */
function sortable(value: number): string {
  const bytes = Buffer.alloc(8);
  // -0 would sort before 0, which SQLite holds equal.
  bytes.writeDoubleBE(value === 0 ? 0 : value);
  if (bytes[0]! & 0x80) for (let i = 0; i < 8; i++) bytes[i] = ~bytes[i]! & 0xff;
  else bytes[0]! |= 0x80;
  return bytes.toString('hex');
}

/** An entry's member in the listing set of sort: (value, fileId) in byte order. */
function listMember(entry: MediaEntry, sort: RecordingSort): string {
  return sortable(sortValueOf(entry, sort)) + entry.fileId;
}

function fileIdOfListMember(member: string): string {
  return member.slice(16);
}

/** The lex range of a listing's set: after the cursor, and for the start sort within the window. */
function listRange(plan: ListPlan): { min: string; max: string } {
  const after = plan.after && `(${sortable(plan.after.value)}${plan.after.fileId}`;
  const window = plan.sort === 'start';
  const from = window && plan.fromMs !== undefined ? `[${sortable(plan.fromMs)}` : undefined;
  const to = window && plan.toMs !== undefined ? `(${sortable(plan.toMs)}` : undefined;
  // Of a cursor and a window bound on the same side, the tighter one.
  if (plan.order === 'asc') {
    const useAfter = after && (plan.fromMs === undefined || !window || plan.after!.value >= plan.fromMs);
    return { min: (useAfter ? after : from) ?? '-', max: to ?? '+' };
  }
  const useAfter = after && (plan.toMs === undefined || !window || plan.after!.value < plan.toMs);
  return { min: from ?? '-', max: (useAfter ? after : to) ?? '+' };
}

function fileIdOf(member: string): string {
  return member.slice(member.lastIndexOf('\0') + 1);
}

function nameOf(member: string): string {
  return member.slice(0, member.lastIndexOf('\0'));
}

async function exec(tx: ChainableCommander): Promise<void> {
  const results = await tx.exec();
  const failed = results?.find(([err]) => err);
  if (failed) throw failed[0];
}
