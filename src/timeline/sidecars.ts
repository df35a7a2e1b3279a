import type { PlaylistDateRange } from '../recording/hls-playlist.js';
import type { TimelineEvent } from './events.js';
import { mediaSecondsAt, type MediaSpan } from './media-time.js';

/** How long a danmaku line stays on screen in the danmaku track. */
export const DANMAKU_SECONDS = 4;

/** One event of a recording's timeline, placed in its media: what the sidecar lists. */
export type PlacedEvent = TimelineEvent & { seconds: number };

/** What a recording's sidecars say, in short: the media index and DescribeMediaInfos carry it. */
export interface TimelineSummary {
  markers: { id: string; label: string; seconds: number }[];
  messages: number;
  products: number;
}

/** The events of a recording's window placed in its media, by media time (pure); those outside are left out. */
export function placeEvents(events: readonly TimelineEvent[], spans: readonly MediaSpan[]): PlacedEvent[] {
  const placed: PlacedEvent[] = [];
  for (const event of events) {
    const seconds = mediaSecondsAt(spans, event.atMs);
    if (seconds !== undefined) placed.push({ ...event, seconds: Math.round(seconds * 1000) / 1000 });
  }
  return placed.sort((a, b) => a.seconds - b.seconds || a.atMs - b.atMs || (a.id < b.id ? -1 : 1));
}

/** `<name>.events.json`: every marker and room event, with its media time and wall-clock time. */
export function renderEventsJson(
  media: { key: string; spans: readonly MediaSpan[] },
  placed: readonly PlacedEvent[],
): string {
  return `${JSON.stringify(
    {
      version: 1,
      media: media.key,
      spans: media.spans.map((s) => ({ start: new Date(s.startMs).toISOString(), seconds: s.seconds })),
      events: placed.map(({ key: _k, atMs, ...event }) => ({ ...event, at: new Date(atMs).toISOString() })),
    },
    null,
    2,
  )}\n`;
}

/** `<name>.danmaku.vtt`: each message with text, from its media time, for DANMAKU_SECONDS. */
export function renderDanmakuVtt(placed: readonly PlacedEvent[]): string {
  const cues = placed.flatMap((e) =>
    e.kind === 'message' && e.text
      ? [
          `${e.id}\n${vttTime(e.seconds)} --> ${vttTime(e.seconds + DANMAKU_SECONDS)}\n` +
            `<v ${vttText(e.account || 'anonymous')}>${vttText(e.text)}</v>`,
        ]
      : [],
  );
  return ['WEBVTT', ...cues].join('\n\n') + '\n';
}

/** `<name>.chapters.vtt`: each marker is a chapter, to the next marker or the media's end. */
export function renderChaptersVtt(placed: readonly PlacedEvent[], durationSeconds: number): string {
  const markers = placed.filter((e) => e.kind === 'marker');
  const cues = markers.map((m, i) => {
    const end = Math.max(m.seconds, markers[i + 1]?.seconds ?? durationSeconds);
    return `${m.id}\n${vttTime(m.seconds)} --> ${vttTime(end)}\n${vttText(m.label)}`;
  });
  return ['WEBVTT', ...cues].join('\n\n') + '\n';
}

/** The CLASS of a marker's and a product push's date range: players tell them apart by it. */
const MARKER_CLASS = 'com.tencent.recorder.marker';
const PRODUCT_CLASS = 'com.tencent.recorder.product';

/** The playlist's date ranges: markers and product pushes, START-DATE on the program date-time clock. */
export function playlistDateRanges(
  placed: readonly PlacedEvent[],
  spans: readonly MediaSpan[],
): PlaylistDateRange[] {
  return placed.flatMap((e): PlaylistDateRange[] => {
    const start = new Date(wallAtSeconds(spans, e.seconds));
    if (e.kind === 'marker') {
      return [
        {
          id: e.id,
          classId: MARKER_CLASS,
          start,
          attributes: { 'X-LABEL': quoted(e.label) },
        },
      ];
    }
    if (e.kind === 'group' && e.product) {
      return [
        {
          id: e.id,
          classId: PRODUCT_CLASS,
          start,
          attributes: { 'X-PRODUCT': quoted(e.value) },
        },
      ];
    }
    return [];
  });
}

export function summarize(placed: readonly PlacedEvent[]): TimelineSummary {
  return {
    markers: placed.flatMap((e) =>
      e.kind === 'marker' ? [{ id: e.id, label: e.label, seconds: e.seconds }] : [],
    ),
    messages: placed.filter((e) => e.kind === 'message').length,
    products: placed.filter((e) => e.kind === 'group' && e.product).length,
  };
}

/** The wall-clock time of a media time: the program date-time clock of the span it falls in. */
export function wallAtSeconds(spans: readonly MediaSpan[], seconds: number): number {
  let before = 0;
  for (const span of spans) {
    if (seconds <= before + span.seconds) return span.startMs + (seconds - before) * 1000;
    before += span.seconds;
  }
  const last = spans.at(-1);
  return last ? last.startMs + last.seconds * 1000 : 0;
}

function vttTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** Cue text: no markup from the message, no blank line (which would end the cue), no `-->`. */
function vttText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n|\r/g, ' ');
}

/** An HLS quoted-string holds no double quote, CR or LF: the sidecar keeps the value exactly. */
function quoted(text: string): string {
  return text.replace(/"/g, "'").replace(/[\r\n]+/g, ' ');
}
