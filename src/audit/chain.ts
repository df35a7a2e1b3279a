import { createHash } from 'node:crypto';

/** The `prev` of a chain's first entry. */
export const GENESIS = '0'.repeat(64);

/** One audit entry as written: the chain's links (`seq`, `prev`, `hash`) and what happened. */
export interface AuditEntry {
  seq: number;
  /** ISO 8601, UTC. */
  at: string;
  node: string;
  /** Who: an API token's name, a console user, a Tencent SecretId, `loopback`, or the recorder itself. */
  who: string;
  /** Where from: the client's address, when a client did it. */
  from?: string | undefined;
  /** What, e.g. `publish.accepted`, `recording.ended`, `object.stored`, `api.change`, `console.login`. */
  action: string;
  /** What it was done to: `app/stream`, a storage key, a FileId. */
  subject?: string | undefined;
  detail?: Record<string, unknown> | undefined;
  /** The hash of the entry before it (GENESIS for the first). */
  prev: string;
  /** SHA-256 of this entry's JSON without `hash`. */
  hash: string;
}

export type AuditFacts = Omit<AuditEntry, 'seq' | 'at' | 'node' | 'prev' | 'hash'>;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The next entry of a chain (pure): linked to `prev`, its own hash over everything else. */
export function chainEntry(
  facts: AuditFacts,
  link: { seq: number; prev: string; node: string; at: Date },
): AuditEntry {
  const body = {
    seq: link.seq,
    at: link.at.toISOString(),
    node: link.node,
    who: facts.who,
    ...(facts.from ? { from: facts.from } : {}),
    action: facts.action,
    ...(facts.subject ? { subject: facts.subject } : {}),
    ...(facts.detail ? { detail: facts.detail } : {}),
    prev: link.prev,
  };
  return { ...body, hash: sha256(JSON.stringify(body)) };
}

/** Where a chain does not hold: which file and line, and why. */
export interface ChainBreak {
  node: string;
  file: string;
  /** 1-based line in the file. */
  line: number;
  seq: number | undefined;
  reason: string;
}

/** A chain read so far: what the next entry must link to. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * Checks a run of lines of one node's chain (pure): each line parses, its hash is its own, its seq follows and
 * its prev is the hash of the entry before (`head`, from the file before, or none at the chain's start). An
 * edited line fails its own hash; a deleted one leaves a gap in seq and a prev that links to nothing there.
 */
export function verifyLines(
  lines: readonly string[],
  where: { node: string; file: string },
  head: ChainHead | undefined,
): { head: ChainHead | undefined; breaks: ChainBreak[]; entries: number } {
  const breaks: ChainBreak[] = [];
  let last = head;
  let entries = 0;
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    const at = { node: where.node, file: where.file, line: i + 1 };
    let entry: AuditEntry;
    try {
      entry = JSON.parse(text) as AuditEntry;
    } catch {
      breaks.push({ ...at, seq: undefined, reason: 'not a JSON entry' });
      last = undefined;
      return;
    }
    entries++;
    const { hash, ...body } = entry;
    if (sha256(JSON.stringify(body)) !== hash) {
      breaks.push({ ...at, seq: entry.seq, reason: 'changed: the entry does not match its own hash' });
    } else if (entry.node !== where.node) {
      breaks.push({
        ...at,
        seq: entry.seq,
        reason: `an entry of node ${entry.node} in ${where.node}'s chain`,
      });
    } else if (last && entry.seq !== last.seq + 1) {
      breaks.push({
        ...at,
        seq: entry.seq,
        reason: `entries ${last.seq + 1}..${entry.seq - 1} are missing (seq ${last.seq} is followed by ${entry.seq})`,
      });
    } else if (last ? entry.prev !== last.hash : entry.seq === 0 && entry.prev !== GENESIS) {
      breaks.push({ ...at, seq: entry.seq, reason: 'its prev is not the hash of the entry before it' });
    }
    last = { seq: entry.seq, hash: entry.hash };
  });
  return { head: last, breaks, entries };
}
