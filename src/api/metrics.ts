import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REPAIR_KINDS, type RepairKind } from '../ingest/index.js';
import { PUBLISH_REFUSALS, type PublishRefusal } from '../recording/recording-manager.js';

/** Read at each scrape: how much is in flight right now. */
export interface MetricsSources {
  activeRecordings: () => number;
  uploadQueueDepth: () => number;
  callbacksPending: () => number;
  callbacksDead: () => number;
  /** Free bytes of the data dir's file system at the last check (NaN before one). */
  diskFreeBytes: () => number;
  /** Whether the data dir counts as full (below record.minFreeBytes). */
  diskFull: () => boolean;
}

/** Why a publish was refused (or taken unrecorded), a label of the refusal counter (bounded). */
export type RefusalReason = PublishRefusal;

/** Outcome of one callback attempt, a label of the attempt histogram. */
export type AttemptOutcome = 'delivered' | 'failed';

// Callback attempts end by `timeoutSeconds` (20 s by default, at most 120 s).
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60, 120];

/** The recorder's Prometheus metrics, in a registry of their own; the composition root feeds them. */
export class RecorderMetrics {
  readonly registry = new Registry();
  readonly #bytesIn: Counter<'app' | 'stream'>;
  /** Bytes counted since the last scrape, per stream. */
  readonly #pendingBytes = new Set<{ child: { inc(n: number): void }; bytes: number }>();
  readonly #restarts: Counter;
  readonly #mixRestarts: Counter;
  readonly #uploadFailures: Counter<'code'>;
  readonly #delivered: Counter;
  readonly #attempts: Histogram<'outcome'>;
  readonly #refused: Counter<'reason'>;
  readonly #repairs: Counter<'kind'>;
  readonly #imEvents: Counter<'outcome'>;
  readonly #imAnswers: Histogram;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const sampled = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    sampled('recorder_active_recordings', 'Recordings not yet done, including ones finishing files.', () =>
      sources.activeRecordings(),
    );
    sampled('recorder_upload_queue_depth', 'Upload jobs not yet stored.', () => sources.uploadQueueDepth());
    sampled('recorder_callbacks_pending', 'Callbacks stored and not yet delivered.', () =>
      sources.callbacksPending(),
    );
    sampled('recorder_callbacks_dead', 'Callbacks whose every attempt failed (dead letters).', () =>
      sources.callbacksDead(),
    );
    new Gauge({
      name: 'recorder_disk_free_bytes',
      help: 'Free bytes of the file system holding dataDir, at the last check.',
      registers,
      collect() {
        const free = sources.diskFreeBytes();
        if (Number.isFinite(free)) this.set(free);
      },
    });
    sampled(
      'recorder_disk_full',
      '1 while dataDir is below record.minFreeBytes: publishes are refused.',
      () => (sources.diskFull() ? 1 : 0),
    );
    this.#refused = new Counter({
      name: 'recorder_publishes_refused_total',
      help: 'Publishes refused, by reason; not_recorded: taken (events 1 and 0) but recorded by no rule or task.',
      labelNames: ['reason'],
      registers,
    });
    this.#repairs = new Counter({
      name: 'recorder_timestamp_repairs_total',
      help: 'Timestamp repairs at the ingest, by kind: reset, jump, wrap, start (a late track on its own clock), drift.',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of REPAIR_KINDS) this.#repairs.inc({ kind }, 0);
    this.#imEvents = new Counter({
      name: 'recorder_im_events_total',
      help:
        'Tencent IM webhook events, by outcome: stored, duplicate (a retry), unmapped (no recording of its group: ' +
        'dropped), ignored (a command the timeline does not keep), refused (bad sign or body).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['stored', 'duplicate', 'unmapped', 'ignored', 'refused'])
      this.#imEvents.inc({ outcome }, 0);
    this.#imAnswers = new Histogram({
      name: 'recorder_im_webhook_seconds',
      help: 'From an IM webhook received to its answer: its events durable (fsynced), or it refused.',
      buckets: [0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2],
      registers,
    });
    // Every reason shows from the start at 0, so a rate() over it has a baseline.
    for (const reason of PUBLISH_REFUSALS) this.#refused.inc({ reason }, 0);
    const pendingBytes = this.#pendingBytes;
    this.#bytesIn = new Counter({
      name: 'recorder_bytes_in_total',
      help: 'Media bytes received (FLV tags), per published stream.',
      labelNames: ['app', 'stream'],
      registers,
      // Packets add to a plain number; the labelled counter is told at a scrape (a hash lookup per packet costs).
      collect() {
        for (const pending of pendingBytes) {
          pending.child.inc(pending.bytes);
          pending.bytes = 0;
        }
        pendingBytes.clear();
      },
    });
    this.#restarts = new Counter({
      name: 'recorder_ffmpeg_restarts_total',
      help: 'ffmpeg runs restarted after dying while the publisher stayed.',
      registers,
    });
    this.#mixRestarts = new Counter({
      name: 'recorder_mix_restarts_total',
      help: 'Mixes started again after their ffmpeg died or their output was refused (the reason is logged).',
      registers,
    });
    this.#uploadFailures = new Counter({
      name: 'recorder_upload_failures_total',
      help: 'Failed upload attempts (each is retried), by error code.',
      labelNames: ['code'],
      registers,
    });
    this.#delivered = new Counter({
      name: 'recorder_callbacks_delivered_total',
      help: 'Callbacks a receiver answered with HTTP 200.',
      registers,
    });
    this.#attempts = new Histogram({
      name: 'recorder_callback_attempt_seconds',
      help: 'Duration of callback attempts, by outcome.',
      labelNames: ['outcome'],
      buckets: ATTEMPT_BUCKETS,
      registers,
    });
    // The event-loop delay is sampled every 100 ms, not prom-client's 10: a timer that woke the loop 100 times a
    // second cost an idle recorder more than everything else it does; delays are still measured to the ms.
    collectDefaultMetrics({
      register: this.registry,
      prefix: 'recorder_',
      eventLoopMonitoringPrecision: 100,
    });
  }

  /** The byte counter of one stream; taken once per publish so packets skip the label lookup. */
  bytesIn(app: string, stream: string): (bytes: number) => void {
    const pending = { child: this.#bytesIn.labels({ app, stream }), bytes: 0 };
    return (bytes) => {
      if (pending.bytes === 0) this.#pendingBytes.add(pending);
      pending.bytes += bytes;
    };
  }

  ffmpegRestarted(): void {
    this.#restarts.inc();
  }

  mixRestarted(): void {
    this.#mixRestarts.inc();
  }

  imEvents(outcome: 'stored' | 'duplicate' | 'unmapped' | 'ignored' | 'refused', count = 1): void {
    this.#imEvents.inc({ outcome }, count);
  }

  imAnswered(ms: number): void {
    this.#imAnswers.observe(ms / 1000);
  }

  timestampRepaired(kind: RepairKind): void {
    this.#repairs.inc({ kind });
  }

  publishRefused(reason: RefusalReason): void {
    this.#refused.inc({ reason });
  }

  uploadFailed(code: string): void {
    this.#uploadFailures.inc({ code });
  }

  callbackAttempted(outcome: AttemptOutcome, attemptMs: number): void {
    this.#attempts.observe({ outcome }, attemptMs / 1000);
    if (outcome === 'delivered') this.#delivered.inc();
  }
}

/** `GET /metrics` in Prometheus text format; public like /healthz, so a scraper needs no token. */
export function registerMetricsRoute(app: FastifyInstance, metrics: RecorderMetrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
