import { randomBytes } from 'node:crypto';
import type { MediaTimeline } from '../media/media-index.js';
import type { FileSidecars, SidecarMedia, SidecarSource } from '../recording/file-finisher.js';
import { sidecarKeys } from '../naming/names.js';
import { AppError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { timelineKeyOfGroup, timelineKeyOfStream, type MarkerEvent, type TimelineEvent } from './events.js';
import { groupsOfStream, type GroupMap } from './group-map.js';
import { parseImWebhook } from './im-webhook.js';
import { mediaSecondsAt, spansOfSegments, spanWindow, type MediaSpan } from './media-time.js';
import {
  placeEvents,
  playlistDateRanges,
  renderChaptersVtt,
  renderDanmakuVtt,
  renderEventsJson,
  summarize,
} from './sidecars.js';
import type { SidecarRender, TimelineStore } from './timeline-store.js';

/** What becomes of the events of one webhook. */
export type ImOutcome = 'stored' | 'duplicate' | 'unmapped' | 'ignored';

/** A marker as the API shows it. */
export interface MarkerView {
  id: string;
  app: string;
  stream: string;
  label: string;
  at: string;
  /** Its media time in the recording that holds it, when known. */
  seconds: number | null;
}

export interface TimelineOptions {
  store: TimelineStore;
  groups: GroupMap;
  /** The app-defined group field that carries the product of a product push. */
  productField: string;
  /** Every open (live or interrupted) recording in the cluster, as `app/stream`. */
  openStreams(): Promise<readonly string[]>;
  /** The spans so far of a recording open on this node; undefined when it is not here. */
  liveSpans(app: string, stream: string): MediaSpan[] | undefined;
  /** Stores sidecars again, durably (the upload queue), for a media already stored. */
  storeObjects(objects: readonly { key: string; text: string }[], retentionDays: number): Promise<void>;
  catalog: { setTimeline(fileId: string, timeline: MediaTimeline): Promise<boolean> };
  onOutcome?: (outcome: ImOutcome, count: number) => void;
  logger: Logger;
  now?: () => number;
}

/** The open recordings, when last asked: their streams, and how many of them each IM group holds. */
interface OpenRecordings {
  at: number;
  streams: Set<string>;
  groups: Map<string, number>;
}

/** How long the open recordings and a timeline's renders are taken as known, between webhooks. */
const CACHE_MS = 1000;
/** Late events of one finished media are rendered into its sidecars together, this long after the first. */
const RERENDER_DELAY_MS = 2000;
/** A media re-rendered before it is indexed (its upload still pending) is tried again, this many times. */
const RERENDER_TRIES = 30;

/**
 * A recording's timeline: markers set through the API and a live room's IM webhooks go to the store, keyed by
 * stream or group; when a file closes, the events of its window become its sidecars. Events that reach a
 * finished file (a marker set in the past, a late webhook, an account's messages removed) render its sidecars
 * again.
 */
export class Timeline implements SidecarSource {
  readonly #o: TimelineOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #open: OpenRecordings | undefined;
  readonly #renders = new Map<string, { at: number; renders: Promise<SidecarRender[]> }>();
  readonly #pending = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(options: TimelineOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'timeline' });
    this.#now = options.now ?? Date.now;
  }

  /** The timelines a stream's recordings draw from: its own markers and its IM groups'. */
  keysOf(app: string, stream: string): string[] {
    return [
      timelineKeyOfStream(app, stream),
      ...groupsOfStream(this.#o.groups, app, stream).map(timelineKeyOfGroup),
    ];
  }

  /** The sidecars of a media at its close; undefined when its window holds no event. Remembered for later. */
  async forMedia(media: SidecarMedia): Promise<FileSidecars | undefined> {
    const { segments, ...rest } = media;
    const render: SidecarRender = {
      ...rest,
      spans: spansOfSegments(segments),
      keys: this.keysOf(media.app, media.stream),
    };
    await this.#o.store.addRender(render);
    for (const key of render.keys) this.#renders.delete(key);
    const rendered = await this.#render(render);
    return rendered &&
      rendered.timeline.markers.length + rendered.timeline.messages + rendered.timeline.products > 0
      ? rendered
      : undefined;
  }

  /** Stores the timeline events of one IM webhook (durable when it resolves). */
  async ingest(command: string, body: unknown): Promise<ImOutcome> {
    const now = this.#now();
    const parsed = parseImWebhook(command, body, { productField: this.#o.productField, nowMs: now });
    if ('ignored' in parsed) return this.#count('ignored', 1);
    const key = timelineKeyOfGroup(parsed.groupId);
    const open = (await this.#openNow()).groups.has(parsed.groupId);
    const covering = await this.#covering(key, parsed.events);
    if (!open && covering.length === 0) return this.#count('unmapped', parsed.events.length);
    const fresh = await this.#o.store.append(parsed.events);
    if (fresh.length < parsed.events.length) this.#count('duplicate', parsed.events.length - fresh.length);
    if (fresh.length === 0) return 'duplicate';
    for (const render of await this.#covering(key, fresh)) this.#rerenderSoon(render);
    return this.#count('stored', fresh.length);
  }

  /** Sets a marker on a recording of app/stream: a live or interrupted one, or a stored one that holds `atMs`. */
  async addMarker(app: string, stream: string, label: string, atMs = this.#now()): Promise<MarkerView> {
    const key = timelineKeyOfStream(app, stream);
    const marker: MarkerEvent = {
      kind: 'marker',
      id: `mk_${randomBytes(8).toString('hex')}`,
      key,
      atMs,
      label,
    };
    const open = (await this.#openNow(true)).streams.has(`${app}/${stream}`);
    const covering = await this.#covering(key, [marker], true);
    if (!open && covering.length === 0) {
      throw new AppError(
        'NOT_FOUND',
        `${app}/${stream} is not being recorded, and no stored recording of it holds ${new Date(atMs).toISOString()}`,
      );
    }
    await this.#o.store.append([marker]);
    await Promise.all(covering.map((render) => this.#rerender(render)));
    return this.#view(marker, covering);
  }

  /** The markers of a stream's timeline, by time. */
  async markers(app: string, stream: string): Promise<MarkerView[]> {
    const key = timelineKeyOfStream(app, stream);
    const events = await this.#o.store.range([key], 0, Number.MAX_SAFE_INTEGER);
    const renders = await this.#o.store.rendersOf(key);
    return events.flatMap((e) =>
      e.kind === 'marker'
        ? [
            this.#view(
              e,
              renders.filter((r) => holds(r, e.atMs)),
            ),
          ]
        : [],
    );
  }

  /** Removes a marker, and from the sidecars of a stored recording that holds it. */
  async removeMarker(app: string, stream: string, id: string): Promise<boolean> {
    const key = timelineKeyOfStream(app, stream);
    const removed = await this.#o.store.remove(key, id);
    if (!removed) return false;
    await Promise.all((await this.#covering(key, [removed], true)).map((render) => this.#rerender(render)));
    return true;
  }

  /** Removes one account's messages from a group's timeline and from every stored sidecar that held them. */
  async removeAccount(groupId: string, account: string): Promise<{ removed: number; media: string[] }> {
    const key = timelineKeyOfGroup(groupId);
    const removed = await this.#o.store.removeAccount(key, account);
    const renders = removed.length ? await this.#covering(key, removed, true) : [];
    await Promise.all(renders.map((render) => this.#rerender(render)));
    return { removed: removed.length, media: renders.map((r) => r.mediaKey) };
  }

  /** Ends pending re-renders' timers (their events are stored; the sidecars lag until the next change). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  #count(outcome: ImOutcome, n: number): ImOutcome {
    this.#o.onOutcome?.(outcome, n);
    return outcome;
  }

  #view(marker: MarkerEvent, covering: readonly SidecarRender[]): MarkerView {
    const [app = '', ...rest] = marker.key.slice('stream:'.length).split('/');
    const stream = rest.join('/');
    // The HLS recording when there is one: its media time spans the resumes, a part's starts at the part.
    const stored = covering.find((r) => r.mediaKey.endsWith('.m3u8')) ?? covering[0];
    const spans = stored?.spans ?? this.#o.liveSpans(app, stream);
    const seconds = spans ? mediaSecondsAt(spans, marker.atMs) : undefined;
    return {
      id: marker.id,
      app,
      stream,
      label: marker.label,
      at: new Date(marker.atMs).toISOString(),
      seconds: seconds === undefined ? null : Math.round(seconds * 1000) / 1000,
    };
  }

  async #openNow(fresh = false): Promise<OpenRecordings> {
    const now = this.#now();
    if (!fresh && this.#open && now - this.#open.at < CACHE_MS) return this.#open;
    const streams = new Set(await this.#o.openStreams());
    const groups = new Map<string, number>();
    for (const subject of streams) {
      const [app = '', ...rest] = subject.split('/');
      for (const g of groupsOfStream(this.#o.groups, app, rest.join('/')))
        groups.set(g, (groups.get(g) ?? 0) + 1);
    }
    this.#open = { at: now, groups, streams };
    return this.#open;
  }

  /** The stored media of a timeline whose window holds any of the events. */
  async #covering(key: string, events: readonly TimelineEvent[], fresh = false): Promise<SidecarRender[]> {
    const now = this.#now();
    let cached = this.#renders.get(key);
    if (fresh || !cached || now - cached.at >= CACHE_MS) {
      cached = { at: now, renders: this.#o.store.rendersOf(key) };
      this.#renders.set(key, cached);
      cached.renders.catch(() => this.#renders.delete(key));
    }
    const renders = await cached.renders;
    return renders.filter((r) => events.some((e) => holds(r, e.atMs)));
  }

  async #render(render: SidecarRender): Promise<FileSidecars | undefined> {
    const window = spanWindow(render.spans);
    if (!window) return undefined;
    const events = await this.#o.store.range(render.keys, window.fromMs, window.toMs);
    const placed = placeEvents(events, render.spans);
    const keys = sidecarKeys(render.mediaKey);
    const duration = render.spans.reduce((sum, s) => sum + s.seconds, 0);
    return {
      objects: [
        { key: keys.events, text: renderEventsJson({ key: render.mediaKey, spans: render.spans }, placed) },
        { key: keys.danmaku, text: renderDanmakuVtt(placed) },
        { key: keys.chapters, text: renderChaptersVtt(placed, duration) },
      ],
      dateRanges: playlistDateRanges(placed, render.spans),
      timeline: { events: keys.events, danmaku: keys.danmaku, chapters: keys.chapters, ...summarize(placed) },
    };
  }

  /** Renders a stored media's sidecars again and stores them; its playlist stays as stored. */
  async #rerender(render: SidecarRender, tries = RERENDER_TRIES): Promise<void> {
    const rendered = await this.#render(render);
    if (!rendered) return;
    await this.#o.storeObjects(rendered.objects, render.retentionDays);
    const indexed = await this.#o.catalog.setTimeline(render.fileId, rendered.timeline);
    // Not indexed yet: its own upload (with the sidecars of its close) is still on its way; after it, again.
    if (!indexed && tries > 1 && !this.#closed) this.#rerenderSoon(render, tries - 1);
  }

  #rerenderSoon(render: SidecarRender, tries = RERENDER_TRIES): void {
    if (this.#pending.has(render.mediaKey) || this.#closed) return;
    const timer = setTimeout(() => {
      this.#pending.delete(render.mediaKey);
      this.#rerender(render, tries).catch((err: unknown) =>
        this.#log.warn({ media: render.mediaKey, err: errorMessage(err) }, 'cannot store the sidecars again'),
      );
    }, RERENDER_DELAY_MS);
    timer.unref();
    this.#pending.set(render.mediaKey, timer);
  }
}

function holds(render: SidecarRender, atMs: number): boolean {
  const window = spanWindow(render.spans);
  return window !== undefined && atMs >= window.fromMs && atMs <= window.toMs;
}
