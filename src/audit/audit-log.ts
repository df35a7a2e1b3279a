import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { AuditStore } from './audit-store.js';
import { chainEntry, GENESIS, type AuditEntry, type AuditFacts, type ChainHead } from './chain.js';
import { currentActor } from './context.js';

/** What one audit record says; who and where from default to the request being served, else the recorder. */
export type AuditRecord = Omit<AuditFacts, 'who'> & { who?: string | undefined };

/** The head of a node's chain at a moment: written to a sink, it pins everything before it. */
export interface AuditAnchor {
  node: string;
  seq: number;
  hash: string;
  at: string;
}

/** Entries recorded within this window share one append (one fsync). */
const BATCH_MS = 10;
/** A failed append is tried again this often. */
const RETRY_MS = 1000;

/**
 * This node's audit chain: every entry is linked to the one before by its hash, in the order recorded, and
 * appended (fsynced) in batches. `record` never throws: an entry that cannot be stored is logged as an error.
 */
export class AuditLog {
  readonly #store: AuditStore;
  readonly #node: string;
  readonly #log: Logger;
  readonly #now: () => Date;
  #head: ChainHead | undefined;
  #pending: { day: string; line: string }[] = [];
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #waiters: { resolve: () => void }[] = [];
  readonly #enabled: boolean;

  private constructor(
    store: AuditStore,
    node: string,
    head: ChainHead | undefined,
    log: Logger,
    now: () => Date,
    enabled: boolean,
  ) {
    this.#enabled = enabled;
    this.#store = store;
    this.#node = node;
    this.#head = head;
    this.#log = log;
    this.#now = now;
  }

  /** Opens this node's chain where it ended (its last entry), or starts it. */
  static async open(
    store: AuditStore,
    node: string,
    logger: Logger,
    options: { enabled?: boolean; now?: () => Date } = {},
  ): Promise<AuditLog> {
    const now = options.now ?? (() => new Date());
    if (options.enabled === false) return new AuditLog(store, node, undefined, logger, now, false);
    const days = await store.days(node);
    let head: ChainHead | undefined;
    for (const day of days.reverse()) {
      const lines = await store.read(node, day);
      for (const line of lines.reverse()) {
        try {
          const entry = JSON.parse(line) as AuditEntry;
          head = { seq: entry.seq, hash: entry.hash };
          break;
        } catch {
          // A line that is not an entry: `audit verify` reports it; the chain goes on from the last good one.
        }
      }
      if (head) break;
    }
    return new AuditLog(store, node, head, logger.child({ component: 'audit' }), now, true);
  }

  get node(): string {
    return this.#node;
  }

  /** The newest entry's seq and hash, and when. */
  anchor(): AuditAnchor {
    return {
      node: this.#node,
      seq: this.#head?.seq ?? -1,
      hash: this.#head?.hash ?? GENESIS,
      at: this.#now().toISOString(),
    };
  }

  /** Links and queues one entry; resolves once it is durable (or its failure logged). */
  record(facts: AuditRecord): Promise<void> {
    if (!this.#enabled) return Promise.resolve();
    const actor = currentActor();
    const at = this.#now();
    const entry = chainEntry(
      {
        ...facts,
        who: facts.who ?? actor?.who ?? 'recorder',
        from: facts.from ?? actor?.from,
      },
      { seq: (this.#head?.seq ?? -1) + 1, prev: this.#head?.hash ?? GENESIS, node: this.#node, at },
    );
    this.#head = { seq: entry.seq, hash: entry.hash };
    this.#pending.push({ day: entry.at.slice(0, 10), line: JSON.stringify(entry) });
    const done = new Promise<void>((resolve) => this.#waiters.push({ resolve }));
    this.#timer ??= setTimeout(() => void this.#flush(), BATCH_MS);
    return done;
  }

  /** Writes what is queued; resolves when it is. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flush();
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    // One flush at a time, in order: the chain's lines reach the store as they were linked.
    while (this.#flushing) await this.#flushing;
    const batch = this.#pending;
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    if (batch.length === 0) return;
    this.#flushing = (async () => {
      const days = [...new Set(batch.map((b) => b.day))];
      let stored = 0;
      try {
        for (const day of days) {
          await this.#store.append(
            this.#node,
            day,
            batch.filter((b) => b.day === day).map((b) => b.line),
          );
          stored++;
        }
        for (const w of waiters) w.resolve();
      } catch (err) {
        // Kept, in order, and tried again: an entry is never dropped from the chain.
        const left = batch.filter((b) => days.indexOf(b.day) >= stored);
        this.#log.error(
          { err: errorMessage(err), entries: left.length },
          'cannot store audit entries, retrying',
        );
        this.#pending = [...left, ...this.#pending];
        this.#waiters = [...waiters, ...this.#waiters];
        this.#timer ??= setTimeout(() => void this.#flush(), RETRY_MS);
      } finally {
        this.#flushing = undefined;
      }
    })();
    await this.#flushing;
  }

  /** Writes what is queued (one try: what cannot be stored now is logged and left). */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
