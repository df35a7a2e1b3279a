import { z } from 'zod';
import type { DocumentStore } from './document-store.js';
import { AppError, errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export interface JsonBookShape<T> {
  /** The array's key in `{ "version": 1, "<key>": [...] }`. */
  key: string;
  record: z.ZodType<T>;
  log: Logger;
  /** e.g. `task`: logged as "task record unreadable, dropped". */
  what: string;
}

/**
 * The records of a versioned JSON book, `{ "version": 1, "<key>": [...] }`. No text: no records. Throws when the
 * text is not such a book; a record that fails `record` is dropped and logged.
 */
export function parseJsonBook<T>(text: string | undefined, shape: JsonBookShape<T>): T[] {
  if (text === undefined) return [];
  const book = z.object({ version: z.literal(1), [shape.key]: z.array(z.unknown()) }).parse(JSON.parse(text));
  const kept: T[] = [];
  for (const record of book[shape.key] as unknown[]) {
    const parsed = shape.record.safeParse(record);
    if (parsed.success) kept.push(parsed.data);
    else shape.log.error({ record, err: parsed.error.message }, `${shape.what} record unreadable, dropped`);
  }
  return kept;
}

/** The text of a book of `records`, as parseJsonBook reads it. */
export function jsonBookText(key: string, records: readonly unknown[]): string {
  return `${JSON.stringify({ version: 1, [key]: records }, null, 1)}\n`;
}

/**
 * Reads a book from its store. A book that does not parse is a hand edit or a foreign document (writes are
 * whole): it is set aside for an operator and the book starts empty. A store that cannot be read throws an
 * AppError with `errorCode`.
 */
export async function readJsonBook<T>(
  store: DocumentStore,
  shape: JsonBookShape<T> & { errorCode: string },
): Promise<T[]> {
  let text: string | undefined;
  try {
    text = await store.read();
  } catch (err) {
    throw new AppError(shape.errorCode, `cannot read ${store.where}`, { cause: err });
  }
  try {
    return parseJsonBook(text, shape);
  } catch (err) {
    const aside = await store.setAside();
    shape.log.error(
      { where: store.where, aside, err: errorMessage(err) },
      `${shape.what} file unreadable, set aside`,
    );
    return [];
  }
}

/**
 * Applies `change` to the records of the stored book (another node may have changed it since this one read it)
 * and stores what it returns; resolves with the records as stored. An AppError thrown by `change` (a refusal)
 * passes as it is; a store that cannot be written throws an AppError with `errorCode`.
 */
export async function updateJsonBook<T>(
  store: DocumentStore,
  shape: JsonBookShape<T> & { errorCode: string },
  change: (records: T[]) => readonly T[],
): Promise<T[]> {
  let text: string;
  try {
    text = await store.update((current) => jsonBookText(shape.key, change(parseJsonBook(current, shape))));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(shape.errorCode, `cannot write ${store.where}`, { cause: err });
  }
  return parseJsonBook(text, shape);
}
