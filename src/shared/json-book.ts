import { readFile, rename } from 'node:fs/promises';
import { z } from 'zod';
import { AppError, errorMessage } from './errors.js';
import type { Logger } from './logger.js';

/**
 * Reads the records of a versioned JSON book, `{ "version": 1, "<key>": [...] }`, as its owner writes it with
 * writeFileDurably. No file: no records. A file that does not parse is a hand edit or a foreign file (writes are
 * atomic): it is renamed to `<file>.corrupt` for an operator and the book starts empty. A record that fails
 * `record` is dropped and logged. Any other read error throws an AppError with `errorCode`.
 */
export async function readJsonBook<T>(options: {
  file: string;
  key: string;
  record: z.ZodType<T>;
  log: Logger;
  /** e.g. `task`: logged as "task file unreadable, set aside". */
  what: string;
  errorCode: string;
}): Promise<T[]> {
  const { file, log, what } = options;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AppError(options.errorCode, `cannot read ${file}`, { cause: err });
  }
  let records: unknown[];
  try {
    const book = z
      .object({ version: z.literal(1), [options.key]: z.array(z.unknown()) })
      .parse(JSON.parse(text));
    records = book[options.key] as unknown[];
  } catch (err) {
    const aside = `${file}.corrupt`;
    log.error({ file, aside, err: errorMessage(err) }, `${what} file unreadable, set aside`);
    await rename(file, aside);
    return [];
  }
  const kept: T[] = [];
  for (const record of records) {
    const parsed = options.record.safeParse(record);
    if (parsed.success) kept.push(parsed.data);
    else log.error({ file, record, err: parsed.error.message }, `${what} record unreadable, dropped`);
  }
  return kept;
}
