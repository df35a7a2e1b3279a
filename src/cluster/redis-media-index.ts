import type { ChainableCommander, Redis } from 'ioredis';
import type { MediaCatalog, MediaEntry, MediaQuery, MediaSearchResult } from '../media/media-index.js';

/**
 * The media index in Redis, shared by every node. Per media: its entry as JSON (`e:<fileId>`). Indexes: a sorted
 * set by create time (ties ordered by FileId, as SQLite's ORDER BY create_time, file_id), one by name (scores 0,
 * members `name \0 fileId`, so a prefix is one ZRANGE BYLEX), one per stream id by create time, and the storage
 * key's FileId (for a change of expiry).
 *
 * A search takes the narrowest index its filters allow, then filters, sorts and pages the candidates here. A
 * query by time alone pages in Redis.
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
      }
      await exec(tx);
    }
  }

  #unindex(tx: ChainableCommander, entry: MediaEntry): void {
    tx.zrem(this.#byCreate, entry.fileId);
    tx.zrem(this.#byName, `${entry.name}\0${entry.fileId}`);
    tx.zrem(this.#streamKey(entry.streamId), entry.fileId);
    tx.del(this.#objectKey(entry.key));
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
      query.fileIds?.length || query.namePrefixes?.length || query.streamIds?.length || query.names?.length;
    if (!narrowed) return this.#searchByTime(query, lo, hi);

    // The candidates of the narrowest filter given; the others are checked on them.
    let candidates: Set<string> | undefined;
    const narrow = (ids: Iterable<string>) => {
      const next = new Set(ids);
      candidates = candidates ? new Set([...candidates].filter((id) => next.has(id))) : next;
    };
    if (query.fileIds?.length) narrow(query.fileIds);
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
