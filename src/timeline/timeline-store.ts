import { createHash } from 'node:crypto';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, writeFileDurably } from '../shared/durable-file.js';
import type { TimelineEvent } from './events.js';
import type { MediaSpan } from './media-time.js';

/** A stored media whose sidecars were rendered from some timelines: rendered again when their events change. */
export interface SidecarRender {
  /** Storage key of the media (its .m3u8, .mp4, .flv or .aac). */
  mediaKey: string;
  fileId: string;
  app: string;
  stream: string;
  spans: MediaSpan[];
  /** The timelines it draws from. */
  keys: string[];
  retentionDays: number;
}

/**
 * Where timeline events are kept: on one node, files in its data dir; in a cluster, Redis, so a webhook or a
 * marker reaching any node is seen by the node that closes the recording. One conformance suite runs on both.
 */
export interface TimelineStore {
  /** Stores the events whose (key, id) it has not stored before; durable when it resolves. The new ones. */
  append(events: readonly TimelineEvent[]): Promise<TimelineEvent[]>;
  /** The events of these timelines with fromMs <= atMs <= toMs, by time. */
  range(keys: readonly string[], fromMs: number, toMs: number): Promise<TimelineEvent[]>;
  /** Removes one event; the removed one, if it was there. */
  remove(key: string, id: string): Promise<TimelineEvent | undefined>;
  /** Removes one account's messages from a timeline; those removed. */
  removeAccount(key: string, account: string): Promise<TimelineEvent[]>;
  /** Records a media's rendered sidecars under each timeline they draw from (one per media key). */
  addRender(render: SidecarRender): Promise<void>;
  /** The media rendered from a timeline. */
  rendersOf(key: string): Promise<SidecarRender[]>;
  close(): Promise<void>;
}

/**
 * The file store's batching window: appends within it share one write and one fdatasync per file, and an
 * append waits at most this long for its fsync to start (a webhook's answer waits for it).
 */
export const TIMELINE_FLUSH_MS = 10;
/** Ids remembered per timeline for deduplication (a retried webhook is a recent one). */
const MAX_IDS_PER_KEY = 200_000;
/** Timelines whose ids are held in memory at once; the least recently used is dropped beyond. */
const MAX_HOT_KEYS = 256;
/** Files kept open for appending; the least recently written is closed beyond. */
const MAX_OPEN_FILES = 128;

interface Line {
  e?: TimelineEvent;
  r?: SidecarRender;
  /** The id of an event removed: still remembered, so a retried webhook does not bring it back. */
  x?: string;
}

interface Batch {
  lines: Map<string, string[]>;
  added: { ids: Set<string>; id: string; key: string }[];
  done: Promise<void>;
  settle: (err?: unknown) => void;
  flushed: boolean;
}

/**
 * The timeline store of one node: one append-only JSON-lines file per timeline under `dir`. Appends are
 * batched: one write and one fdatasync per file every TIMELINE_FLUSH_MS at most, and each append resolves
 * only after the fsync that holds it. A line torn by a crash is skipped when read.
 */
export class FileTimelineStore implements TimelineStore {
  readonly #dir: string;
  readonly #flushMs: number;
  readonly #ids = new Map<string, Promise<Set<string>>>();
  /** Events appended but not yet fsynced, by `key\nid`: what a duplicate of one waits for. */
  readonly #pendingIds = new Map<string, Promise<void>>();
  /** Keys with lines not yet on disk: their id sets must stay, a reload would not see those lines. */
  readonly #unwritten = new Map<string, number>();
  /**
   * Append handles, most recently written last. A flush is then a write and an fdatasync per file: each trip
   * through libuv's threads waits for a busy event loop, so an open, a stat and a close each time cost more than
   * the fsync itself when many files close at once.
   */
  readonly #handles = new Map<string, FileHandle>();
  #dirMade = false;
  #batch: Batch | undefined;
  #lastFlush = 0;
  /** Flushes and rewrites, one at a time, in order. */
  #serial: Promise<void> = Promise.resolve();
  #closed: Promise<void> | undefined;

  constructor(dir: string, options: { flushMs?: number } = {}) {
    this.#dir = dir;
    this.#flushMs = options.flushMs ?? TIMELINE_FLUSH_MS;
  }

  async append(events: readonly TimelineEvent[]): Promise<TimelineEvent[]> {
    if (this.#closed) throw new Error('the timeline store is closed');
    const fresh: TimelineEvent[] = [];
    const sets = await Promise.all(events.map((e) => this.#idsOf(e.key)));
    const batch = this.#openBatch();
    // A duplicate of an event not yet on disk is stored once that event is.
    const earlier = new Set<Promise<void>>();
    events.forEach((event, i) => {
      const ids = sets[i]!;
      if (ids.has(event.id)) {
        const pending = this.#pendingIds.get(`${event.key}\n${event.id}`);
        if (pending) earlier.add(pending);
        return;
      }
      remember(ids, event.id);
      batch.added.push({ ids, id: event.id, key: event.key });
      this.#pendingIds.set(`${event.key}\n${event.id}`, batch.done);
      this.#unwritten.set(event.key, (this.#unwritten.get(event.key) ?? 0) + 1);
      this.#queue(batch, this.#file(event.key), { e: event });
      fresh.push(event);
    });
    await Promise.all([...earlier, ...(fresh.length ? [batch.done] : [])]);
    return fresh;
  }

  async range(keys: readonly string[], fromMs: number, toMs: number): Promise<TimelineEvent[]> {
    // No flush is waited for: an event is promised only once its append resolves, and by then it is on disk. An
    // append still in flight re-renders what covers it when it lands. (Waiting here made every file that closed
    // wait for every earlier batch's fsyncs, one after another.) A rewrite replaces its file whole, by a rename.
    const events: TimelineEvent[] = [];
    for (const key of new Set(keys)) {
      // An event written twice (a batch that failed on another file, then retried) is one event.
      const seen = new Set<string>();
      for (const line of await this.#read(this.#file(key))) {
        if (!line.e || seen.has(line.e.id)) continue;
        seen.add(line.e.id);
        if (line.e.atMs >= fromMs && line.e.atMs <= toMs) events.push(line.e);
      }
    }
    return events.sort((a, b) => a.atMs - b.atMs);
  }

  async remove(key: string, id: string): Promise<TimelineEvent | undefined> {
    const [removed] = await this.#rewrite(key, (e) => e.id === id);
    return removed;
  }

  removeAccount(key: string, account: string): Promise<TimelineEvent[]> {
    return this.#rewrite(key, (e) => e.kind === 'message' && e.account === account);
  }

  async addRender(render: SidecarRender): Promise<void> {
    if (this.#closed) throw new Error('the timeline store is closed');
    const batch = this.#openBatch();
    for (const key of render.keys) this.#queue(batch, this.#file(key, true), { r: render });
    await batch.done;
  }

  async rendersOf(key: string): Promise<SidecarRender[]> {
    // Renders are on disk once addRender resolves: no flush is waited for.
    const renders = new Map<string, SidecarRender>();
    for (const line of await this.#read(this.#file(key, true))) {
      if (line.r) renders.set(line.r.mediaKey, line.r);
    }
    return [...renders.values()];
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#batch) this.#flush(this.#batch);
      await this.#serial;
      await Promise.all([...this.#handles.keys()].map((file) => this.#closeHandle(file)));
    })();
    return this.#closed;
  }

  /** A timeline's events, or (`renders`) the media rendered from it: a small file read on every webhook. */
  #file(key: string, renders = false): string {
    const name = createHash('sha1').update(key).digest('hex');
    return join(this.#dir, renders ? `${name}.renders.jsonl` : `${name}.jsonl`);
  }

  #idsOf(key: string): Promise<Set<string>> {
    let ids = this.#ids.get(key);
    if (ids) {
      // Most recently used last: the first is the one dropped.
      this.#ids.delete(key);
    } else {
      ids = this.#read(this.#file(key)).then((lines) => {
        const set = new Set<string>();
        for (const line of lines) {
          if (line.e) remember(set, line.e.id);
          if (line.x) remember(set, line.x);
        }
        return set;
      });
      // A failed read is not kept: the next append reads again.
      ids.catch(() => this.#ids.delete(key));
    }
    this.#ids.set(key, ids);
    if (this.#ids.size > MAX_HOT_KEYS) {
      const idle = [...this.#ids.keys()].find((k) => !this.#unwritten.has(k));
      if (idle !== undefined) this.#ids.delete(idle);
    }
    return ids;
  }

  #openBatch(): Batch {
    if (this.#batch) return this.#batch;
    let settle!: (err?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    const batch: Batch = { lines: new Map(), added: [], done, settle, flushed: false };
    this.#batch = batch;
    const wait = Math.max(0, this.#lastFlush + this.#flushMs - Date.now());
    setTimeout(() => this.#flush(batch), wait);
    return batch;
  }

  #queue(batch: Batch, file: string, line: Line): void {
    const lines = batch.lines.get(file) ?? [];
    lines.push(`${JSON.stringify(line)}\n`);
    batch.lines.set(file, lines);
  }

  #flush(batch: Batch): void {
    if (batch.flushed) return;
    batch.flushed = true;
    if (this.#batch === batch) this.#batch = undefined;
    this.#serial = this.#serial.then(async () => {
      this.#lastFlush = Date.now();
      const settled = () => {
        for (const { key, id } of batch.added) {
          this.#pendingIds.delete(`${key}\n${id}`);
          const left = (this.#unwritten.get(key) ?? 1) - 1;
          if (left > 0) this.#unwritten.set(key, left);
          else this.#unwritten.delete(key);
        }
      };
      try {
        if (!this.#dirMade) await mkdir(this.#dir, { recursive: true });
        this.#dirMade = true;
        let created = false;
        await Promise.all(
          [...batch.lines].map(async ([file, lines]) => {
            let handle = this.#handles.get(file);
            let lead = '';
            if (handle) {
              this.#handles.delete(file);
            } else {
              // Appending; readable for the one look at the file's end, when this process first opens it.
              handle = await open(file, 'a+');
              const { size } = await handle.stat();
              // A new file's name is durable once its directory is.
              created ||= size === 0;
              // After a crash the last line may be cut short: the next line starts on a line of its own.
              const last = Buffer.alloc(1);
              if (size > 0) await handle.read(last, 0, 1, size - 1);
              if (size > 0 && last[0] !== 0x0a) lead = '\n';
            }
            this.#handles.set(file, handle);
            await handle.writeFile(lead + lines.join(''));
            await handle.datasync();
          }),
        );
        await this.#closeIdle();
        if (created) await syncDir(this.#dir);
        settled();
        batch.settle();
      } catch (err) {
        this.#dirMade = false;
        await Promise.all([...batch.lines.keys()].map((file) => this.#closeHandle(file)));
        // Not stored: a retry of the same events must be able to store them.
        for (const { ids, id } of batch.added) ids.delete(id);
        settled();
        batch.settle(err);
      }
    });
  }

  async #closeHandle(file: string): Promise<void> {
    const handle = this.#handles.get(file);
    this.#handles.delete(file);
    await handle?.close().catch(() => undefined);
  }

  async #closeIdle(): Promise<void> {
    const idle = [...this.#handles.keys()].slice(0, Math.max(0, this.#handles.size - MAX_OPEN_FILES));
    await Promise.all(idle.map((file) => this.#closeHandle(file)));
  }

  async #read(file: string): Promise<Line[]> {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    const lines: Line[] = [];
    for (const raw of text.split('\n')) {
      if (!raw) continue;
      try {
        lines.push(JSON.parse(raw) as Line);
      } catch {
        // A line a crash cut short: the append it belonged to never resolved.
      }
    }
    return lines;
  }

  #rewrite(key: string, drop: (e: TimelineEvent) => boolean): Promise<TimelineEvent[]> {
    const removed: TimelineEvent[] = [];
    // What is waiting to be written goes first, so the rewrite sees it.
    if (this.#batch) this.#flush(this.#batch);
    const run = this.#serial.then(async () => {
      const kept: string[] = [];
      for (const line of await this.#read(this.#file(key))) {
        if (line.e && drop(line.e)) removed.push(line.e);
        else kept.push(`${JSON.stringify(line)}\n`);
      }
      for (const e of removed) kept.push(`${JSON.stringify({ x: e.id } satisfies Line)}\n`);
      if (removed.length === 0) return;
      // An open append handle would go on writing to the file the rename replaces.
      await this.#closeHandle(this.#file(key));
      await writeFileDurably(this.#file(key), kept.join(''));
    });
    this.#serial = run.catch(() => undefined);
    return run.then(() => removed);
  }
}

function remember(ids: Set<string>, id: string): void {
  ids.add(id);
  if (ids.size > MAX_IDS_PER_KEY) ids.delete(ids.values().next().value!);
}
