import type { TypedEmitter } from '../shared/typed-emitter.js';
import type { AuditAnchor, AuditLog } from './audit-log.js';
import { currentActor } from './context.js';
import { ANCHOR_PREFIX } from './verify.js';

export { AuditLog, type AuditAnchor, type AuditRecord } from './audit-log.js';
export { FileAuditStore, type AuditStore } from './audit-store.js';
export { AuditedStore } from './audited-store.js';
export { actorOf, currentActor, runAs, setActor, type AuditActor } from './context.js';
export { ANCHOR_PREFIX, exportAudit, verifyAudit, type AuditReport } from './verify.js';

/** The names of a query's parameters, not their values (a push's txSecret, a token). */
function paramNames(query: string): string[] {
  return [...new URLSearchParams(query).keys()];
}

/** A publish's admission, told to the audit trail: accepted, or refused with the reason. */
export function auditedAdmission<
  R extends { app: string; stream: string; remoteAddress: string; host: string; query: string },
  D extends object,
>(audit: AuditLog, admit: (request: R) => D | Promise<D>): (request: R) => Promise<D> {
  return async (request) => {
    const decision = await admit(request);
    const refused = 'refuse' in decision ? String(decision.refuse) : undefined;
    void audit.record({
      action: refused === undefined ? 'publish.accepted' : 'publish.refused',
      who: 'publisher',
      from: request.remoteAddress,
      subject: `${request.app}/${request.stream}`,
      detail: {
        host: request.host,
        params: paramNames(request.query),
        ...(refused ? { reason: refused } : {}),
      },
    });
    return decision;
  };
}

/** A recording's life, told to the audit trail: started, interrupted, resumed, ended (and how). */
export function auditSession(
  audit: AuditLog,
  session: {
    id: string;
    key: string;
    on(event: 'state', listener: (from: string, to: string, reason: string) => void): unknown;
  },
): void {
  session.on('state', (from, to, reason) => {
    const action =
      to === 'recording'
        ? from === 'interrupted'
          ? 'recording.resumed'
          : 'recording.started'
        : to === 'interrupted'
          ? 'recording.interrupted'
          : to === 'completed' || to === 'failed'
            ? 'recording.ended'
            : undefined;
    if (!action) return;
    void audit.record({
      action,
      subject: session.key,
      detail: { recordingId: session.id, ...(action === 'recording.ended' ? { state: to } : {}), reason },
    });
  });
}

interface DeliveredRecord {
  url: string;
  body: Record<string, unknown>;
  attempts: number;
  lastError?: string;
}

/** Callbacks, told to the audit trail: delivered, or dead-lettered. The URL without its query (it may hold a key). */
export function auditDelivery(
  audit: AuditLog,
  delivery: TypedEmitter<{
    delivered: [DeliveredRecord, number];
    dead: [DeliveredRecord];
  }>,
): void {
  const where = (url: string) => {
    try {
      const u = new URL(url);
      return `${u.origin}${u.pathname}`;
    } catch {
      return 'unparsable url';
    }
  };
  const facts = (record: DeliveredRecord) => ({
    url: where(record.url),
    eventType: record.body.event_type ?? null,
    attempts: record.attempts,
  });
  const subjectOf = (record: DeliveredRecord) => {
    const { appname: app, stream_id: stream, file_id: fileId } = record.body as Record<string, unknown>;
    return typeof fileId === 'string'
      ? fileId
      : typeof stream === 'string'
        ? `${String(app ?? '')}/${stream}`
        : undefined;
  };
  delivery.on('delivered', (record) => {
    void audit.record({ action: 'callback.delivered', subject: subjectOf(record), detail: facts(record) });
  });
  delivery.on('dead', (record) => {
    void audit.record({
      action: 'callback.dead',
      subject: subjectOf(record),
      detail: { ...facts(record), lastError: record.lastError ?? null },
    });
  });
}

/** Where an anchor is stored: `audit-anchors/<node>/<at>.json`. */
export function anchorKey(anchor: AuditAnchor): string {
  return `${ANCHOR_PREFIX}${anchor.node}/${anchor.at.replace(/:/g, '-')}.json`;
}

/** How long a URL issued for one media is one entry: the console asks for the same ones again and again. */
const ISSUED_WINDOW_MS = 60_000;

/** Playback URLs issued, told to the audit trail: once per media and caller a minute, with its expiry. */
export function issuedUrls(
  audit: AuditLog,
  now: () => number = Date.now,
): (key: string, expiresAt: Date) => void {
  const last = new Map<string, number>();
  return (key, expiresAt) => {
    const at = now();
    const who = currentActor()?.who ?? 'recorder';
    const id = `${who}\n${key}`;
    if ((last.get(id) ?? -Infinity) > at - ISSUED_WINDOW_MS) return;
    last.set(id, at);
    if (last.size > 10_000) for (const [k, t] of last) if (t <= at - ISSUED_WINDOW_MS) last.delete(k);
    void audit.record({
      action: 'playback.url_issued',
      subject: key,
      detail: { expiresAt: expiresAt.toISOString() },
    });
  };
}

/** Writes the chain's head out every `intervalMs`; the returned function stops it. */
export function startAnchors(
  audit: AuditLog,
  intervalMs: number,
  write: (anchor: AuditAnchor) => Promise<void>,
  onError: (err: unknown) => void,
): () => void {
  if (intervalMs <= 0) return () => {};
  const timer = setInterval(() => {
    void audit
      .flush()
      .then(() => write(audit.anchor()))
      .catch(onError);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
