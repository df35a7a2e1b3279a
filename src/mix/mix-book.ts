import { z } from 'zod';
import { writeFileDurably } from '../shared/durable-file.js';
import { AppError } from '../shared/errors.js';
import { readJsonBook } from '../shared/json-book.js';
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

/**
 * Where open mix sessions are kept, so a restarted recorder resumes them. The embedded store is a file in
 * dataDir/.state; a shared store (Redis) implements the same interface.
 */
export interface MixSessionStore {
  /** Loads what is kept; call once before the others. */
  open(): Promise<void>;
  list(): MixSessionRecord[];
  get(sessionId: string): MixSessionRecord | undefined;
  /** Creates or replaces a session's request durably; resolves once it is stored. */
  put(sessionId: string, request: CreateCommonMixStreamRequest, nowMs: number): Promise<MixSessionRecord>;
  /** Forgets a cancelled session; false when there was none. */
  remove(sessionId: string): Promise<boolean>;
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

/** The embedded MixSessionStore: one JSON file, replaced durably on every change, writes in order. */
export class FileMixSessionStore implements MixSessionStore {
  readonly #file: string;
  readonly #log: Logger;
  readonly #sessions = new Map<string, MixSessionRecord>();
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, logger: Logger = silentLogger()) {
    this.#file = file;
    this.#log = logger.child({ component: 'mix-book' });
  }

  async open(): Promise<void> {
    const records = await readJsonBook({
      file: this.#file,
      key: 'sessions',
      record: recordSchema,
      log: this.#log,
      what: 'mix session',
      errorCode: 'MIX_STORE_FAILED',
    });
    for (const record of records) this.#sessions.set(record.sessionId, record as MixSessionRecord);
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
    const before = this.#sessions.get(sessionId);
    const record: MixSessionRecord = {
      sessionId,
      request: structuredClone(request),
      createdAt: before?.createdAt ?? nowMs,
      updatedAt: nowMs,
    };
    this.#sessions.set(sessionId, record);
    try {
      await this.#persist();
    } catch (err) {
      if (before) this.#sessions.set(sessionId, before);
      else this.#sessions.delete(sessionId);
      throw err;
    }
    return record;
  }

  async remove(sessionId: string): Promise<boolean> {
    const before = this.#sessions.get(sessionId);
    if (!before) return false;
    this.#sessions.delete(sessionId);
    try {
      await this.#persist();
    } catch (err) {
      this.#sessions.set(sessionId, before);
      throw err;
    }
    return true;
  }

  async close(): Promise<void> {
    await this.#writing.catch(() => undefined);
  }

  /** Writes the whole book after every earlier write; each write takes the state of its own moment. */
  #persist(): Promise<void> {
    const write = this.#writing
      .catch(() => undefined)
      .then(async () => {
        const text = `${JSON.stringify({ version: 1, sessions: this.list() }, null, 1)}\n`;
        try {
          await writeFileDurably(this.#file, text);
        } catch (err) {
          throw new AppError('MIX_STORE_FAILED', `cannot write ${this.#file}`, { cause: err });
        }
      });
    this.#writing = write;
    return write;
  }
}
