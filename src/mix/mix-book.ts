import { z } from 'zod';
import type { DocumentStore } from '../shared/document-store.js';
import { errorMessage } from '../shared/errors.js';
import { parseJsonBook, readJsonBook, updateJsonBook } from '../shared/json-book.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import type { CreateCommonMixStreamRequest } from './layout.js';

/** One mix session as kept: the last CreateCommonMixStream request for its id, and when it came. */
export interface MixSessionRecord {
  readonly sessionId: string;
  readonly request: CreateCommonMixStreamRequest;
  /** Unix ms of the first request, and of the last one. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Where open mix sessions are kept, so a restarted recorder (or another node) resumes them. */
export interface MixSessionStore {
  /** Loads what is kept; call once before the others. */
  open(): Promise<void>;
  list(): MixSessionRecord[];
  get(sessionId: string): MixSessionRecord | undefined;
  /** Creates or replaces a session's request durably; resolves once it is stored. */
  put(sessionId: string, request: CreateCommonMixStreamRequest, nowMs: number): Promise<MixSessionRecord>;
  /** Forgets a cancelled session; false when there was none. */
  remove(sessionId: string): Promise<boolean>;
  /** Told once another node's change has been read (list and get return it then). */
  watch(onChange: () => void): () => void;
  close(): Promise<void>;
}

const recordSchema = z.object({
  sessionId: z.string().min(1),
  request: z
    .object({
      MixStreamSessionId: z.string(),
      InputStreamList: z.array(
        z
          .object({ InputStreamName: z.string(), LayoutParams: z.object({ ImageLayer: z.number() }).loose() })
          .loose(),
      ),
      OutputParams: z.object({ OutputStreamName: z.string() }).loose(),
    })
    .loose(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

type Sessions = Map<string, MixSessionRecord>;

/**
 * The mix sessions as one JSON book in a DocumentStore: `dataDir/.state/mixes.json`, or the cluster's Redis.
 * Reads are from memory; each change applies to the stored book, then becomes the one read. Another node's
 * changes are read as it announces them.
 */
export class MixSessionBook implements MixSessionStore {
  readonly #store: DocumentStore;
  readonly #log: Logger;
  #sessions: Sessions = new Map();
  #writing: Promise<unknown> = Promise.resolve();
  #unwatch: (() => void) | undefined;
  readonly #watchers = new Set<() => void>();

  constructor(store: DocumentStore, logger: Logger = silentLogger()) {
    this.#store = store;
    this.#log = logger.child({ component: 'mix-book' });
  }

  async open(): Promise<void> {
    this.#sessions = byId(await readJsonBook(this.#store, { ...this.#shape, errorCode: 'MIX_STORE_FAILED' }));
    this.#unwatch = this.#store.watch(() => {
      this.#writing = this.#writing
        .catch(() => undefined)
        .then(async () => {
          this.#sessions = byId(parseJsonBook(await this.#store.read(), this.#shape));
          for (const watcher of this.#watchers) watcher();
        })
        .catch((err: unknown) =>
          this.#log.error({ err: errorMessage(err) }, 'reading the changed mix book failed'),
        );
    });
  }

  list(): MixSessionRecord[] {
    return [...this.#sessions.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  get(sessionId: string): MixSessionRecord | undefined {
    return this.#sessions.get(sessionId);
  }

  async put(
    sessionId: string,
    request: CreateCommonMixStreamRequest,
    nowMs: number,
  ): Promise<MixSessionRecord> {
    let record!: MixSessionRecord;
    await this.#commit((sessions) => {
      record = {
        sessionId,
        request: structuredClone(request),
        createdAt: sessions.get(sessionId)?.createdAt ?? nowMs,
        updatedAt: nowMs,
      };
      sessions.set(sessionId, record);
    });
    return record;
  }

  async remove(sessionId: string): Promise<boolean> {
    let removed = false;
    await this.#commit((sessions) => {
      removed = sessions.delete(sessionId);
    });
    return removed;
  }

  watch(onChange: () => void): () => void {
    this.#watchers.add(onChange);
    return () => this.#watchers.delete(onChange);
  }

  async close(): Promise<void> {
    this.#watchers.clear();
    this.#unwatch?.();
    await this.#writing.catch(() => undefined);
  }

  get #shape() {
    return {
      key: 'sessions',
      record: recordSchema as unknown as z.ZodType<MixSessionRecord>,
      log: this.#log,
      what: 'mix session',
    };
  }

  /** Applies a change to the stored book, then takes the stored book as the one read; one at a time. */
  #commit(change: (sessions: Sessions) => void): Promise<void> {
    const run = this.#writing
      .catch(() => undefined)
      .then(async () => {
        const stored = await updateJsonBook(
          this.#store,
          { ...this.#shape, errorCode: 'MIX_STORE_FAILED' },
          (records) => {
            const sessions = byId(records);
            change(sessions);
            return [...sessions.values()].sort((a, b) => a.createdAt - b.createdAt);
          },
        );
        this.#sessions = byId(stored);
      });
    this.#writing = run;
    return run;
  }
}

function byId(records: readonly MixSessionRecord[]): Sessions {
  return new Map(records.map((record) => [record.sessionId, record]));
}
