import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from '../shared/durable-file.js';

/**
 * Where each node's audit chain is kept: a file a day per node on one node (`dataDir/.audit/<node>/<day>.jsonl`),
 * or Redis in a cluster, where every node's chain is read by `recorder audit verify` on any node. One
 * conformance suite runs on both.
 */
export interface AuditStore {
  /** Appends lines (JSON entries) to a node's day, in order; durable when it resolves. */
  append(node: string, day: string, lines: readonly string[]): Promise<void>;
  /** Nodes with a chain. */
  nodes(): Promise<string[]>;
  /** A node's days (YYYY-MM-DD), oldest first. */
  days(node: string): Promise<string[]>;
  /** A node's lines of one day, in order. */
  read(node: string, day: string): Promise<string[]>;
  close(): Promise<void>;
}

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

/** The audit store of one node: JSON lines, a file a UTC day, fsynced before append resolves. */
export class FileAuditStore implements AuditStore {
  readonly #dir: string;
  /** Appends, one at a time, so a day's lines stay in chain order. */
  #serial: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.#dir = dir;
  }

  append(node: string, day: string, lines: readonly string[]): Promise<void> {
    const run = this.#serial.then(async () => {
      const dir = join(this.#dir, node);
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${day}.jsonl`);
      const handle = await open(path, 'a');
      try {
        const { size } = await handle.stat();
        await handle.writeFile(lines.map((l) => `${l}\n`).join(''));
        await handle.datasync();
        // A new day's file is durable once its directory is.
        if (size === 0) await syncDir(dir);
      } finally {
        await handle.close();
      }
    });
    this.#serial = run.catch(() => undefined);
    return run;
  }

  async nodes(): Promise<string[]> {
    return (await readdir(this.#dir, { withFileTypes: true }).catch(() => []))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  }

  async days(node: string): Promise<string[]> {
    return (await readdir(join(this.#dir, node)).catch(() => [] as string[]))
      .flatMap((f) => DAY_FILE.exec(f)?.[1] ?? [])
      .sort();
  }

  async read(node: string, day: string): Promise<string[]> {
    const text = await readFile(join(this.#dir, node, `${day}.jsonl`), 'utf8').catch(() => '');
    const lines = text.split('\n');
    // The text after the last newline is a line still being written (or cut by a crash): not part of the chain.
    lines.pop();
    return lines;
  }

  /** Where a node's day is kept (for the operator, and for a test that edits it). */
  fileOf(node: string, day: string): string {
    return join(this.#dir, node, `${day}.jsonl`);
  }

  async close(): Promise<void> {
    await this.#serial;
  }
}
