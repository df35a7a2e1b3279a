import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { StreamFacts } from '../callback/index.js';
import { syncDir, writeFileDurably } from '../shared/durable-file.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

const factsSchema = z.object({
  appid: z.number(),
  domain: z.string(),
  appName: z.string(),
  streamId: z.string(),
  sequence: z.string().regex(/^[0-9]{1,32}$/),
  node: z.string(),
  userIp: z.string(),
  streamParam: z.string(),
  width: z.number(),
  height: z.number(),
});

const pushSchema = z.object({ version: z.literal(1), startedMs: z.number(), facts: factsSchema });

/** An accepted push whose event 0 is not yet queued: what a restarted recorder needs to send it. */
export type OpenPush = { startedMs: number; facts: StreamFacts };

/**
 * The pushes in progress, one file each (`<dir>/<sequence>.json`), written when a push is accepted and removed
 * once its event 0 is in the callback outbox. What a crash leaves here is a push that never got its event 0.
 * Writes of one push are serialized; a failed write is logged, never thrown (only a crash's event 0 is at stake).
 */
export class PushJournal {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #chains = new Map<string, Promise<void>>();

  constructor(dir: string, logger: Logger) {
    this.#dir = dir;
    this.#log = logger.child({ component: 'push-journal' });
  }

  /** Records (or rewrites, e.g. once the video size is known) an open push. */
  save(push: OpenPush): Promise<void> {
    const text = `${JSON.stringify({ version: 1, ...push })}\n`;
    return this.#serial(push.facts.sequence, () => writeFileDurably(this.#path(push.facts.sequence), text));
  }

  /** Forgets a push whose event 0 is queued. */
  remove(sequence: string): Promise<void> {
    const done = this.#serial(sequence, async () => {
      await unlink(this.#path(sequence)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await syncDir(this.#dir);
    });
    return done.finally(() => {
      if (this.#chains.get(sequence) === done) this.#chains.delete(sequence);
    });
  }

  /** The pushes a previous process left open (it died before their event 0); unreadable files are skipped. */
  async leftovers(): Promise<OpenPush[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    const pushes: OpenPush[] = [];
    for (const name of names.filter((n) => /^[0-9]+\.json$/.test(n))) {
      try {
        const parsed = pushSchema.parse(JSON.parse(await readFile(join(this.#dir, name), 'utf8')));
        pushes.push({ startedMs: parsed.startedMs, facts: parsed.facts });
      } catch (err) {
        this.#log.warn({ file: name, err: errorMessage(err) }, 'open push record unreadable, skipped');
      }
    }
    return pushes.sort((a, b) => a.startedMs - b.startedMs);
  }

  #path(sequence: string): string {
    return join(this.#dir, `${sequence}.json`);
  }

  #serial(sequence: string, write: () => Promise<void>): Promise<void> {
    const next = (this.#chains.get(sequence) ?? Promise.resolve()).then(write).catch((err: unknown) => {
      this.#log.warn({ sequence, err: errorMessage(err) }, 'cannot write the push journal');
    });
    this.#chains.set(sequence, next);
    return next;
  }
}
