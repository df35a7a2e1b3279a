import { describe, expect, it } from 'vitest';
import { chainEntry, GENESIS, verifyLines, type AuditEntry } from './chain.js';

const T0 = Date.UTC(2026, 11, 2, 10, 0, 0);

/** A chain of n entries of one node, as lines. */
function chain(n: number, node = 'node-a', from: { seq: number; prev: string } = { seq: 0, prev: GENESIS }) {
  const entries: AuditEntry[] = [];
  let prev = from.prev;
  for (let i = 0; i < n; i++) {
    const entry = chainEntry(
      { who: i % 2 ? 'ops' : 'viewer', from: '203.0.113.9', action: 'api.change', subject: `/api/x/${i}` },
      { seq: from.seq + i, prev, node, at: new Date(T0 + i * 1000) },
    );
    entries.push(entry);
    prev = entry.hash;
  }
  return { entries, lines: entries.map((e) => JSON.stringify(e)) };
}

const where = { node: 'node-a', file: 'node-a/2026-12-02.jsonl' };

describe('the audit hash chain', () => {
  it('a whole chain holds, its head is its last entry', () => {
    const { entries, lines } = chain(5);
    expect(verifyLines(lines, where, undefined)).toEqual({
      head: { seq: 4, hash: entries[4]!.hash },
      breaks: [],
      entries: 5,
    });
  });

  it('runs on across files: the next file links to the head of the one before', () => {
    const first = chain(3);
    const second = chain(2, 'node-a', { seq: 3, prev: first.entries[2]!.hash });
    const head = verifyLines(first.lines, where, undefined).head;
    expect(verifyLines(second.lines, { ...where, file: 'node-a/2026-12-03.jsonl' }, head).breaks).toEqual([]);
    // The same second file after another head does not hold.
    const breaks = verifyLines(second.lines, where, { seq: 2, hash: 'e'.repeat(64) }).breaks;
    expect(breaks.map((b) => [b.line, b.reason])).toEqual([
      [1, 'its prev is not the hash of the entry before it'],
    ]);
  });

  it.each([
    [
      'an edited entry is found at its own line',
      (lines: string[]) =>
        lines.map((l, i) => (i === 2 ? l.replace('"who":"viewer"', '"who":"mallory"') : l)),
      [{ line: 3, seq: 2, reason: /changed/ }],
    ],
    [
      'a deleted entry: a gap in seq where it was',
      (lines: string[]) => lines.filter((_, i) => i !== 2),
      [{ line: 3, seq: 3, reason: /entries 2\.\.2 are missing/ }],
    ],
    [
      'two deleted: the gap says which',
      (lines: string[]) => lines.filter((_, i) => i !== 1 && i !== 2),
      [{ line: 2, seq: 3, reason: /entries 1\.\.2 are missing/ }],
    ],
    [
      'a line that is no entry',
      (lines: string[]) => lines.map((l, i) => (i === 1 ? l.slice(0, 20) : l)),
      [{ line: 2, seq: undefined, reason: /not a JSON entry/ }],
    ],
    [
      'an entry rewritten with its own hash made again still breaks the link after it',
      (lines: string[]) => {
        const entry = JSON.parse(lines[1]!) as AuditEntry;
        const forged = chainEntry(
          { ...entry, who: 'mallory' },
          { seq: entry.seq, prev: entry.prev, node: entry.node, at: new Date(entry.at) },
        );
        return lines.map((l, i) => (i === 1 ? JSON.stringify(forged) : l));
      },
      [{ line: 3, seq: 2, reason: /prev is not the hash/ }],
    ],
  ])('%s', (_name, tamper, want) => {
    const { breaks } = verifyLines(tamper(chain(5).lines), where, undefined);
    expect(breaks).toHaveLength(want.length);
    want.forEach((w, i) => {
      expect(breaks[i]).toMatchObject({ node: 'node-a', file: where.file, line: w.line, seq: w.seq });
      expect(breaks[i]!.reason).toMatch(w.reason);
    });
  });

  it('an entry of another node in a chain is refused', () => {
    const { lines } = chain(2, 'node-b');
    expect(verifyLines(lines, where, undefined).breaks[0]!.reason).toMatch(/node node-b/);
  });
});
