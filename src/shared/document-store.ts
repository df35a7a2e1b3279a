import { readFile, rename } from 'node:fs/promises';
import { writeFileDurably } from './durable-file.js';

/**
 * Where a book (templates and rules, tasks, mix sessions) keeps its whole state: one small text document, read
 * whole and changed whole. On one node it is a file in dataDir; in a cluster it is a Redis key that every node
 * reads, with a note to the others at each change.
 */
export interface DocumentStore {
  /** Where it is, for messages: a file path or a Redis key. */
  readonly where: string;
  /** The stored text; undefined when nothing was stored yet. */
  read(): Promise<string | undefined>;
  /**
   * Stores what `change` makes of the current text, and returns it. `change` may run more than once: when another
   * node changed the document meanwhile it runs again on the newer text. A throw in `change` stores nothing.
   */
  update(change: (current: string | undefined) => string): Promise<string>;
  /** Moves an unreadable document out of the way for an operator; says where it went. */
  setAside(): Promise<string>;
  /** `onChange` runs after another node changed the document (never for this store's own updates). */
  watch(onChange: () => void): () => void;
}

/** The embedded document: a file written durably (temp file, fsync, rename). One process owns dataDir. */
export class FileDocumentStore implements DocumentStore {
  readonly where: string;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {
    this.where = path;
  }

  async read(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  update(change: (current: string | undefined) => string): Promise<string> {
    const run = this.#chain.then(async () => {
      const next = change(await this.read());
      await writeFileDurably(this.path, next);
      return next;
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async setAside(): Promise<string> {
    const aside = `${this.path}.corrupt`;
    await rename(this.path, aside);
    return aside;
  }

  /** No other writer: the dataDir lock keeps every other recorder out. */
  watch(): () => void {
    return () => undefined;
  }
}
