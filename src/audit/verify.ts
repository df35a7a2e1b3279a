import { createHash } from 'node:crypto';
import { text } from 'node:stream/consumers';
import type { ObjectStore } from '../storage/object-store.js';
import type { AuditAnchor } from './audit-log.js';
import type { AuditStore } from './audit-store.js';
import { verifyLines, type AuditEntry, type ChainBreak, type ChainHead } from './chain.js';

/** Where anchors are stored, a JSON object per anchor: `audit-anchors/<node>/<at>.json`. */
export const ANCHOR_PREFIX = 'audit-anchors/';

export interface AuditReport {
  ok: boolean;
  nodes: { node: string; days: number; entries: number; head: ChainHead | undefined }[];
  breaks: ChainBreak[];
  /** With objects: each stored object re-hashed against the hash its `object.stored` entry recorded. */
  objects?: {
    checked: number;
    changed: { key: string; recorded: string; found: string; seq: number }[];
    missing: { key: string; seq: number }[];
  };
  /** With anchors: each anchor's seq must hash to the anchor's hash in its node's chain. */
  anchors?: { checked: number; broken: { node: string; seq: number; reason: string }[] };
}

/**
 * Checks every node's chain from `fromDay` on (each day's lines, the chain running on across days and files);
 * with `objects`, re-hashes every object the chain says was stored and not deleted since; with `anchors`, checks
 * the chain against the heads written out before. Reads; changes nothing.
 */
export async function verifyAudit(
  store: AuditStore,
  options: { fromDay?: string; objects?: ObjectStore; anchors?: ObjectStore; now?: Date } = {},
): Promise<AuditReport> {
  const report: AuditReport = { ok: true, nodes: [], breaks: [] };
  const stored = new Map<string, { sha256: string; seq: number; expiresAt?: string }>();
  const hashes = new Map<string, Map<number, string>>();
  /** Each node's first seq read (with --from, not 0): an anchor before it has nothing to be checked against. */
  const firstSeq = new Map<string, number>();
  for (const node of await store.nodes()) {
    let head: ChainHead | undefined;
    let entries = 0;
    const days = (await store.days(node)).filter((d) => !options.fromDay || d >= options.fromDay);
    const seqs = new Map<number, string>();
    for (const day of days) {
      const lines = await store.read(node, day);
      const result = verifyLines(lines, { node, file: `${node}/${day}.jsonl` }, head);
      head = result.head;
      entries += result.entries;
      report.breaks.push(...result.breaks);
      for (const line of lines) {
        const entry = parse(line);
        if (!entry) continue;
        if (!firstSeq.has(node)) firstSeq.set(node, entry.seq);
        seqs.set(entry.seq, entry.hash);
        if (entry.action === 'object.stored' && entry.subject && typeof entry.detail?.sha256 === 'string') {
          stored.set(entry.subject, {
            sha256: entry.detail.sha256,
            seq: entry.seq,
            ...(typeof entry.detail.expiresAt === 'string' ? { expiresAt: entry.detail.expiresAt } : {}),
          });
        }
        if (entry.action === 'object.deleted' && entry.subject) stored.delete(entry.subject);
      }
    }
    hashes.set(node, seqs);
    report.nodes.push({ node, days: days.length, entries, head });
  }
  if (options.objects) {
    const objects: NonNullable<AuditReport['objects']> = { checked: 0, changed: [], missing: [] };
    const now = options.now ?? new Date();
    for (const [key, want] of stored) {
      // Gone by its own retention: not a loss.
      if (want.expiresAt && Date.parse(want.expiresAt) <= now.getTime()) continue;
      objects.checked++;
      const info = await options.objects.stat(key);
      if (!info) {
        objects.missing.push({ key, seq: want.seq });
        continue;
      }
      const hash = createHash('sha256');
      for await (const chunk of await options.objects.get(key)) hash.update(chunk as Buffer);
      const found = hash.digest('hex');
      if (found !== want.sha256) objects.changed.push({ key, recorded: want.sha256, found, seq: want.seq });
    }
    report.objects = objects;
  }
  if (options.anchors) {
    const anchors: NonNullable<AuditReport['anchors']> = { checked: 0, broken: [] };
    for (const info of await options.anchors.list(ANCHOR_PREFIX)) {
      const anchor = JSON.parse(await text(await options.anchors.get(info.key))) as AuditAnchor;
      const chain = hashes.get(anchor.node);
      // Before the days read (--from): nothing to check it against.
      if (!chain || anchor.seq < 0 || anchor.seq < (firstSeq.get(anchor.node) ?? 0)) continue;
      anchors.checked++;
      const hash = chain.get(anchor.seq);
      if (hash === undefined) {
        anchors.broken.push({
          node: anchor.node,
          seq: anchor.seq,
          reason: `the chain has no entry ${anchor.seq}`,
        });
      } else if (hash !== anchor.hash) {
        anchors.broken.push({
          node: anchor.node,
          seq: anchor.seq,
          reason: `entry ${anchor.seq} is not the one anchored at ${anchor.at}: the chain was rewritten`,
        });
      }
    }
    report.anchors = anchors;
  }
  report.ok =
    report.breaks.length === 0 &&
    !report.objects?.changed.length &&
    !report.objects?.missing.length &&
    !report.anchors?.broken.length;
  return report;
}

/** Every entry of every node with at in [fromMs, toMs), by time; `subject` keeps those about it only. */
export async function exportAudit(
  store: AuditStore,
  filter: { fromMs?: number; toMs?: number; subject?: string; limit?: number },
): Promise<AuditEntry[]> {
  const fromDay =
    filter.fromMs === undefined ? undefined : new Date(filter.fromMs).toISOString().slice(0, 10);
  const toDay = filter.toMs === undefined ? undefined : new Date(filter.toMs).toISOString().slice(0, 10);
  const out: AuditEntry[] = [];
  for (const node of await store.nodes()) {
    for (const day of await store.days(node)) {
      if ((fromDay && day < fromDay) || (toDay && day > toDay)) continue;
      for (const line of await store.read(node, day)) {
        const entry = parse(line);
        if (!entry) continue;
        const at = Date.parse(entry.at);
        if (filter.fromMs !== undefined && at < filter.fromMs) continue;
        if (filter.toMs !== undefined && at >= filter.toMs) continue;
        if (filter.subject && !entry.subject?.startsWith(filter.subject)) continue;
        out.push(entry);
      }
    }
  }
  out.sort((a, b) => a.at.localeCompare(b.at) || a.node.localeCompare(b.node) || a.seq - b.seq);
  return filter.limit === undefined ? out : out.slice(0, filter.limit);
}

function parse(line: string): AuditEntry | undefined {
  try {
    return JSON.parse(line) as AuditEntry;
  } catch {
    return undefined;
  }
}
