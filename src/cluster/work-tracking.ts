import type { RecordingHandover } from './handover.js';
import type { RecordingLedger } from './recording-ledger.js';
import type { WorkItem, WorkRegistry } from './work-registry.js';

/** What the registry needs of a recording session (RecordingSession). */
export interface TrackedSession {
  readonly id: string;
  /** `app/stream`. */
  readonly key: string;
  /** Its config: HLS with a resume window is what another node may continue. */
  readonly record: { formats: readonly string[]; hlsResumeTimeoutSeconds: number };
  /** Its HLS segments so far, and the rest of what continues it (SessionSeed without them). */
  readonly segments: readonly unknown[];
  seedHeader(): unknown;
  on(event: 'state', listener: (from: string, to: string, reason: string) => void): unknown;
  on(event: 'segment', listener: (segment: unknown) => void): unknown;
  on(event: 'status', listener: (status: string) => void): unknown;
}

/** What the registry needs of an upload job (UploadJob) and its queue (UploadQueue). */
export interface TrackedJob {
  id: string;
  lane: string;
  attempts: number;
  lastError?: string | undefined;
}
export interface TrackedQueue {
  on(event: 'queued' | 'done', listener: (job: TrackedJob) => void): unknown;
  on(event: 'failed', listener: (job: TrackedJob, err: Error) => void): unknown;
}

/** States a recording leaves the registry in: it is over, every file handed to the uploads. */
const ENDED = new Set(['completed', 'failed']);

/** The registry item of a recording in a state, or undefined once it is over (pure). */
export function recordingItem(
  session: Pick<TrackedSession, 'id' | 'key'>,
  state: string,
  now: number,
): WorkItem | undefined {
  return ENDED.has(state)
    ? undefined
    : { kind: 'recording', id: session.id, subject: session.key, state, since: now };
}

/**
 * Keeps the registry told of this node's recordings and upload jobs, as their events come; and offers each
 * interrupted HLS recording, for its resume window, to the node where its stream may publish again.
 */
export class WorkTracker {
  readonly #registry: WorkRegistry;
  readonly #handover: RecordingHandover | undefined;
  readonly #ledger: RecordingLedger | undefined;
  readonly #now: () => number;

  constructor(
    registry: WorkRegistry,
    o: { handover?: RecordingHandover; ledger?: RecordingLedger; now?: () => number } = {},
  ) {
    this.#registry = registry;
    this.#handover = o.handover;
    this.#ledger = o.ledger;
    this.#now = o.now ?? Date.now;
  }

  /** Follows a recording from its creation (state `starting`) to its end. */
  session(session: TrackedSession): void {
    const record = (state: string) => {
      const item = recordingItem(session, state, this.#now());
      if (item) this.#registry.put(item);
      else this.#registry.remove('recording', session.id);
    };
    record('starting');
    let inLedger = false;
    session.on('segment', (segment) => {
      if (!this.#ledger) return;
      if (inLedger) return this.#ledger.segment(session.id, JSON.stringify(segment));
      inLedger = true;
      const resumeMs = session.record.hlsResumeTimeoutSeconds * 1000;
      const segments = session.segments.map((s) => JSON.stringify(s));
      this.#ledger.start(session.key, session.id, JSON.stringify(session.seedHeader()), resumeMs, segments);
    });
    // A status moves the event 332 count a node that closes the recording continues from.
    session.on('status', () => {
      if (inLedger) this.#ledger?.header(session.key, session.id, JSON.stringify(session.seedHeader()));
    });
    session.on('state', (from, to) => {
      record(to);
      if (ENDED.has(to)) this.#ledger?.forget(session.key, session.id);
      const resumable = session.record.formats.includes('hls') && session.record.hlsResumeTimeoutSeconds > 0;
      if (to === 'interrupted' && resumable) {
        this.#handover?.offer(session.key, session.id, session.record.hlsResumeTimeoutSeconds * 1000);
      } else if (from === 'interrupted') {
        this.#handover?.withdraw(session.key, session.id);
      }
    });
  }

  /** A push's event 0 facts while it lasts, so another node can send its event 0 if this node dies. */
  pushStarted(sequence: string, subject: string, startedMs: number, facts: unknown): void {
    this.#registry.put({
      kind: 'push',
      id: sequence,
      subject,
      state: 'live',
      since: startedMs,
      detail: JSON.stringify({ startedMs, facts }),
    });
  }

  pushEnded(sequence: string): void {
    this.#registry.remove('push', sequence);
  }

  /** Follows every job of an upload queue, from queued to confirmed. */
  uploads(queue: TrackedQueue): void {
    queue.on('queued', (job) =>
      this.#registry.put({
        kind: 'upload',
        id: job.id,
        subject: job.lane,
        state: 'queued',
        since: this.#now(),
      }),
    );
    queue.on('failed', (job, err) =>
      this.#registry.put({
        kind: 'upload',
        id: job.id,
        subject: job.lane,
        state: 'retrying',
        since: this.#now(),
        detail: `attempt ${job.attempts}: ${err.message}`,
      }),
    );
    queue.on('done', (job) => this.#registry.remove('upload', job.id));
  }
}
