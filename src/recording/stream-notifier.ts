import {
  buildRecordStatusEvent,
  buildStreamBeginEvent,
  buildStreamEndEvent,
  newSequence,
  notifyUrls,
  type NotifyUrls,
  type RecordStatus,
  type RecordStatusFacts,
  type StreamFacts,
} from '../callback/index.js';
import type { CallbackConfig } from '../config/schema.js';
import type { AdmitDecision, IngestEndReason, PublishRequest } from '../ingest/index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { CallbackSink } from './file-finisher.js';
import type { PushJournal } from './push-journal.js';
import type { RecoveredRecording } from './recovery.js';
import type { RecordingSession } from './recording-session.js';
import { endedReason } from './session-state.js';

/**
 * Event 0's errcode and errmsg per way a publish ends. A normal end is 0 and ''. 3 is Tencent's code for a
 * publisher that closed its TCP connection without deleteStream; 1001 and 1002 are this recorder's own.
 */
export const STREAM_END_CODES: Readonly<Record<IngestEndReason, { errcode: number; errmsg: string }>> = {
  unpublished: { errcode: 0, errmsg: '' },
  disconnected: { errcode: 3, errmsg: 'recv() return 0' },
  kicked: { errcode: 1001, errmsg: 'closed by the recorder' },
  shutdown: { errcode: 1002, errmsg: 'recorder shutting down' },
};

/** Event 0 of a push whose recorder node died, sent by another node of the cluster. */
export const NODE_LOST_END_CODE = {
  errcode: 1004,
  errmsg: 'recorder node lost: the push was cut when its node died',
};

/** Event 0 of a push cut by a crash of the recorder, sent by the next process. */
export const RESTART_END_CODE = { errcode: 1003, errmsg: 'recorder restarted: the push was cut by a crash' };

export interface StreamNotifierOptions {
  callback: CallbackConfig;
  /** Open pushes on disk, so a push cut by a crash still gets its event 0 after the restart. */
  pushes?: PushJournal;
  callbacks: CallbackSink;
  /** Event 1/0 `node`: the address publishers reach this recorder at. */
  node: string;
  /** Told of each push while it lasts (its facts for event 0) and when its event 0 is queued: the cluster's copy. */
  onPush?: {
    started(sequence: string, startedMs: number, facts: StreamFacts): void;
    ended(sequence: string): void;
  };
  /** Whether another node already sent a crashed push's event 0 (its node was seen dead). */
  endedElsewhere?: (sequence: string) => Promise<boolean>;
  logger: Logger;
  now?: () => number;
}

/** Sends Tencent's push events (1 and 0) for admitted publishes and the recording status events (332). */
export class StreamNotifier {
  readonly #o: StreamNotifierOptions;
  readonly #urls: NotifyUrls;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(options: StreamNotifierOptions) {
    this.#o = options;
    this.#urls = notifyUrls(options.callback);
    this.#log = options.logger.child({ component: 'stream-events' });
    this.#now = options.now ?? Date.now;
  }

  /** Wraps an admission: an accepted publish sends event 1 now and event 0 when it ends; a refused one sends nothing. */
  admit(request: PublishRequest, decision: AdmitDecision): AdmitDecision {
    const { streamBegin, streamEnd } = this.#urls;
    if (!('accept' in decision) || (!streamBegin && !streamEnd)) return decision;
    const sink = decision.accept;
    const startedMs = this.#now();
    const facts: StreamFacts = {
      appid: this.#o.callback.appid,
      domain: this.#o.callback.domain ?? request.host,
      appName: request.app,
      streamId: request.stream,
      sequence: newSequence(),
      node: this.#o.node,
      userIp: plainAddress(request.remoteAddress),
      streamParam: request.query,
      width: 0,
      height: 0,
    };
    const pushes = streamEnd ? this.#o.pushes : undefined;
    void pushes?.save({ startedMs, facts: { ...facts } });
    if (streamEnd) this.#o.onPush?.started(facts.sequence, startedMs, { ...facts });
    if (streamBegin) this.#send(streamBegin, buildStreamBeginEvent(facts, startedMs), request);
    let ended = false;
    return {
      accept: {
        onPacket: (packet) => {
          // onMetaData carries the video size; event 1 went out before it, event 0 reports it.
          if (packet.metadata) {
            const { width, height } = packet.metadata;
            const before = [facts.width, facts.height];
            if (typeof width === 'number' && Number.isFinite(width)) facts.width = Math.round(width);
            if (typeof height === 'number' && Number.isFinite(height)) facts.height = Math.round(height);
            if (!ended && (facts.width !== before[0] || facts.height !== before[1])) {
              void pushes?.save({ startedMs, facts: { ...facts } });
              if (streamEnd) this.#o.onPush?.started(facts.sequence, startedMs, { ...facts });
            }
          }
          sink.onPacket(packet);
        },
        onEnd: (reason) => {
          try {
            sink.onEnd(reason);
          } finally {
            if (!ended && streamEnd) {
              const body = buildStreamEndEvent(facts, startedMs, STREAM_END_CODES[reason], this.#now());
              // Forgotten once event 0 is in the outbox; a crash before that sends it after the restart.
              void this.#send(streamEnd, body, request).then(async (queued) => {
                if (!queued) return;
                this.#o.onPush?.ended(facts.sequence);
                await pushes?.remove(facts.sequence);
              });
            }
            ended = true;
          }
        },
      },
    };
  }

  /** Sends an event 332 for each status change of a recording. */
  watch(session: RecordingSession): void {
    const url = this.#urls.recordStatus;
    if (!url) return;
    session.on('status', (status, reason, seq) => {
      // The recording's own formats: its template's, or the config's.
      void this.#sendStatus(url, session.identity, session.id, session.record.formats, {
        status,
        reason,
        seq,
      });
    });
  }

  /**
   * Sends event 0 for every push a previous process left open: it died before their end. `lastAliveMs` (the
   * last heartbeat of its lock) stands for the end; without it, now. Resolves with the number sent.
   */
  async endCrashedPushes(lastAliveMs: number | undefined): Promise<number> {
    const url = this.#urls.streamEnd;
    const pushes = this.#o.pushes;
    if (!url || !pushes) return 0;
    let sent = 0;
    for (const push of await pushes.leftovers()) {
      if (await this.#o.endedElsewhere?.(push.facts.sequence).catch(() => false)) {
        await pushes.remove(push.facts.sequence);
        this.#log.info(
          { sequence: push.facts.sequence },
          'event 0 of a push cut by a crash was sent by another node',
        );
        continue;
      }
      const endMs = Math.max(push.startedMs, lastAliveMs ?? this.#now());
      const body = buildStreamEndEvent(push.facts, push.startedMs, RESTART_END_CODE, endMs);
      const at = { app: push.facts.appName, stream: push.facts.streamId };
      if (!(await this.#send(url, body, at))) continue;
      await pushes.remove(push.facts.sequence);
      this.#log.info({ ...at, sequence: push.facts.sequence }, 'event 0 sent for a push cut by a crash');
      sent++;
    }
    return sent;
  }

  /** Sends event 0 for a push of a node that died, from its facts; resolves once it is queued. */
  async endLostPush(push: { startedMs: number; facts: StreamFacts }, endMs: number): Promise<boolean> {
    const url = this.#urls.streamEnd;
    if (!url) return true;
    const body = buildStreamEndEvent(
      push.facts,
      push.startedMs,
      NODE_LOST_END_CODE,
      Math.max(push.startedMs, endMs),
    );
    const at = { app: push.facts.appName, stream: push.facts.streamId };
    const queued = await this.#send(url, body, at);
    if (queued)
      this.#log.info({ ...at, sequence: push.facts.sequence }, 'event 0 sent for a push of a dead node');
    return queued;
  }

  /** Sends record_ended for a recording a crash cut and this process finished, as its next event 332. */
  recoveredRecordingEnded(recording: RecoveredRecording): void {
    const url = this.#urls.recordStatus;
    if (!url) return;
    const files = recording.parts + (recording.playlist ? 1 : 0);
    void this.#sendStatus(url, recording.identity, recording.recordingId, recording.formats, {
      status: 'record_ended',
      reason: endedReason(files, 0, 'recording recovered after a restart'),
      seq: recording.statusSeq + 1,
    });
  }

  /** Queues one event 332 of a recording. */
  #sendStatus(
    url: string,
    identity: { app: string; stream: string; host: string },
    sessionId: string,
    formats: RecordStatusFacts['formats'],
    change: { status: RecordStatus; reason: string; seq: number },
  ): Promise<boolean> {
    const body = buildRecordStatusEvent(
      {
        appid: this.#o.callback.appid,
        domain: this.#o.callback.domain ?? identity.host,
        appName: identity.app,
        streamId: identity.stream,
        sessionId,
        formats,
        ...change,
      },
      this.#now(),
    );
    return this.#send(url, body, identity);
  }

  /** Queues a callback; resolves false when the outbox could not store it. */
  #send(url: string, body: { event_type: number }, at: { app: string; stream: string }): Promise<boolean> {
    return this.#o.callbacks.enqueue(url, body).then(
      () => true,
      (err: unknown) => {
        // The outbox could not store it (disk full, or closed at shutdown): nothing durable is left to retry.
        this.#log.error(
          { eventType: body.event_type, app: at.app, stream: at.stream, err: errorMessage(err) },
          'callback not queued',
        );
        return false;
      },
    );
  }
}

/** An IPv4 address without the IPv6-mapped prefix node gives it (`::ffff:1.2.3.4`). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
