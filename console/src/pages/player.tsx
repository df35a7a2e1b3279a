import Hls from 'hls.js';
import mpegts from 'mpegts.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Recording, type RecordingTimeline, type Session, type TimelineEvent } from '../api.js';
import { bytes, clock, when } from '../format.js';
import { useLoad } from '../hooks.js';
import { Timeline, type TimelinePoint } from '../timeline.js';
import { parseThumbnailVtt, type ThumbnailCue } from '../vtt.js';

/** One piece of an HLS recording's timeline: where it starts, its wall-clock start, and its run. */
interface Piece {
  start: number;
  duration: number;
  wallMs: number | null;
  run: number;
}

/** Where a player's media comes from, and how it is torn down. */
interface Source {
  destroy(): void;
  /** The network dropped and came back: fetch again from where it was. */
  resume(at: number): void;
}

/**
 * Plays `recording` in `element`: HLS by hls.js, FLV by mpegts.js, MP4 and AAC natively. A fatal network error
 * (a drop) is retried every 2 s from the position reached, so playback resumes where it stalled.
 */
function attach(
  element: HTMLMediaElement,
  recording: Recording,
  url: string,
  onPieces: (p: Piece[]) => void,
): Source {
  if (recording.format === 'hls' && Hls.isSupported()) {
    const hls = new Hls({ maxBufferLength: 30 });
    let retry: ReturnType<typeof setTimeout> | undefined;
    hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
      onPieces(
        data.details.fragments.map((f) => ({
          start: f.start,
          duration: f.duration,
          wallMs: f.programDateTime,
          run: f.cc,
        })),
      );
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
        return;
      }
      clearTimeout(retry);
      retry = setTimeout(() => hls.startLoad(element.currentTime), 2000);
    });
    hls.loadSource(url);
    hls.attachMedia(element);
    return {
      destroy: () => {
        clearTimeout(retry);
        hls.destroy();
      },
      resume: (at) => hls.startLoad(at),
    };
  }
  if (recording.format === 'flv' && mpegts.isSupported()) {
    const player = mpegts.createPlayer({ type: 'flv', url, isLive: false });
    player.attachMediaElement(element);
    player.load();
    return {
      destroy: () => player.destroy(),
      resume: (at) => {
        player.unload();
        player.load();
        player.currentTime = at;
      },
    };
  }
  element.src = url;
  return {
    destroy: () => {
      element.removeAttribute('src');
      element.load();
    },
    resume: (at) => {
      element.src = url;
      element.currentTime = at;
      void element.play().catch(() => undefined);
    },
  };
}

/** A sidecar of a recording (thumbnails, timeline), as text. */
async function sidecar(url: string): Promise<string> {
  const answer = await fetch(url, { credentials: 'same-origin' });
  if (!answer.ok) throw new Error(String(answer.status));
  return answer.text();
}

/** The product pushes of a recording's events sidecar; none while it loads or when it cannot be read. */
function useProducts(timeline: RecordingTimeline | null | undefined): TimelinePoint[] {
  const [products, setProducts] = useState<TimelinePoint[]>([]);
  const url = timeline?.products ? timeline.eventsUrl : null;
  useEffect(() => {
    setProducts([]);
    if (!url) return;
    let live = true;
    sidecar(url)
      .then((text) => {
        const { events } = JSON.parse(text) as { events: TimelineEvent[] };
        const pushes = events.filter((e) => e.kind === 'group' && e.product);
        if (live)
          setProducts(
            pushes.map((e) => ({ id: e.id, kind: 'product', seconds: e.seconds, label: e.value ?? '' })),
          );
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [url]);
  return products;
}

/**
 * The danmaku sidecar as a blob: URL for the video's <track>. A track's own src on another origin (a presigned
 * or public bucket URL) loads only in CORS mode, which would put the media itself in CORS mode too; fetched
 * here, it needs CORS on the sidecar alone, as the thumbnails do.
 */
function useDanmaku(url: string | null | undefined): string | undefined {
  const [src, setSrc] = useState<string | undefined>(undefined);
  useEffect(() => {
    setSrc(undefined);
    if (!url) return;
    let blob: string | undefined;
    let live = true;
    sidecar(url)
      .then((text) => {
        if (!live) return;
        blob = URL.createObjectURL(new Blob([text], { type: 'text/vtt' }));
        setSrc(blob);
      })
      .catch(() => undefined);
    return () => {
      live = false;
      if (blob) URL.revokeObjectURL(blob);
    };
  }, [url]);
  return src;
}

/** The recording's markers as chapters: a click jumps to one; the one playing is marked current. */
function Chapters({
  timeline,
  current,
  onSeek,
}: {
  timeline: RecordingTimeline;
  current: number;
  onSeek: (seconds: number) => void;
}) {
  const markers = [...timeline.markers].sort((a, b) => a.seconds - b.seconds);
  const playing = markers.findLast((m) => m.seconds <= current + 0.05);
  return (
    <section class="chapters" aria-labelledby="chapters-title">
      <h3 id="chapters-title">Markers</h3>
      {markers.length === 0 ? (
        <p class="empty">No marker.</p>
      ) : (
        <ol>
          {markers.map((m) => (
            <li key={m.id}>
              <button
                type="button"
                class="quiet"
                aria-current={m === playing ? 'true' : undefined}
                data-seconds={m.seconds}
                onClick={() => onSeek(m.seconds)}
              >
                <span class="at">{clock(m.seconds)}</span> {m.label}
              </button>
            </li>
          ))}
        </ol>
      )}
      <p class="hint">
        {timeline.messages} room message{timeline.messages === 1 ? '' : 's'} in the danmaku ·{' '}
        {timeline.products} product push{timeline.products === 1 ? '' : 'es'}
      </p>
    </section>
  );
}

function Actions({
  recording,
  session,
  onChanged,
}: {
  recording: Recording;
  session: Session;
  onChanged: () => void;
}) {
  const [message, setMessage] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [expiry, setExpiry] = useState('');
  const admin = session.role === 'admin';
  const copy = async () => {
    await navigator.clipboard.writeText(recording.url ?? '');
    setMessage('video_url copied.');
  };
  const setExpiresAt = async (expiresAt: string | null) => {
    try {
      await api('/api/media/expiry', { method: 'PUT', body: { key: recording.key, expiresAt } });
      setMessage(expiresAt ? `Expires ${when(expiresAt)}.` : 'Pinned: kept forever.');
      onChanged();
    } catch (err) {
      setMessage(`Not changed: ${(err as Error).message}`);
    }
  };
  const remove = async () => {
    try {
      await api(`/api/recordings/${encodeURIComponent(recording.fileId)}`, { method: 'DELETE' });
      setConfirming(false);
      setMessage(`Deleted ${recording.name}.`);
      setTimeout(() => (location.hash = '#/recordings'), 1500);
    } catch (err) {
      setMessage(`Not deleted: ${(err as Error).message}`);
    }
  };
  return (
    <div class="actions">
      <a class="button" href={recording.url} download={recording.key.split('/').pop()}>
        Download
      </a>
      <button type="button" onClick={() => void copy()}>
        Copy video_url
      </button>
      {admin && (
        <>
          <button type="button" onClick={() => void setExpiresAt(null)}>
            Pin (keep forever)
          </button>
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              if (expiry) void setExpiresAt(new Date(expiry).toISOString());
            }}
          >
            <label>
              Expires on
              <input
                type="date"
                value={expiry}
                onInput={(e) => setExpiry((e.target as HTMLInputElement).value)}
              />
            </label>
            <button type="submit" disabled={!expiry}>
              Set expiry
            </button>
          </form>
          <button type="button" class="danger" onClick={() => setConfirming(true)}>
            Delete…
          </button>
        </>
      )}
      {confirming && (
        <div class="confirm" role="alertdialog" aria-labelledby="confirm-text">
          <p id="confirm-text">
            Delete <strong>{recording.name}</strong> ({recording.format}, {bytes(recording.size)})? Its files
            and its entry go for good.
          </p>
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete {recording.name}
          </button>
          <button type="button" class="quiet" onClick={() => setConfirming(false)} autofocus>
            Keep it
          </button>
        </div>
      )}
      <p class="message" role="status">
        {message}
      </p>
    </div>
  );
}

export function Player({ fileId, session }: { fileId: string; session: Session }) {
  const loaded = useLoad(() => api<Recording>(`/api/recordings/${encodeURIComponent(fileId)}`), [fileId]);
  const media = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  const source = useRef<Source | undefined>(undefined);
  const [pieces, setPieces] = useState<Piece[]>([]);
  const [current, setCurrent] = useState(0);
  const [duration, setDuration] = useState(0);
  const recording = loaded.value;
  const [thumbnails, setThumbnails] = useState<ThumbnailCue[] | undefined>(undefined);
  useEffect(() => {
    const url = recording?.thumbnailsUrl;
    if (!url) return;
    sidecar(url)
      .then((text) => setThumbnails(parseThumbnailVtt(text, url)))
      .catch(() => setThumbnails(undefined));
  }, [recording?.thumbnailsUrl]);
  const products = useProducts(recording?.timeline);
  const danmaku = useDanmaku(recording?.timeline?.messages ? recording.timeline.danmakuUrl : null);
  const danmakuTrack = useRef<HTMLTrackElement>(null);
  const [danmakuShown, setDanmakuShown] = useState(true);
  useEffect(() => {
    // `default` picks a track only when the media loads; this one comes later, so it is switched on here.
    const track = danmakuTrack.current?.track;
    if (track) track.mode = danmakuShown ? 'showing' : 'hidden';
  }, [danmaku, danmakuShown]);

  useEffect(() => {
    const element = media.current;
    if (!recording?.url || !element) return;
    source.current = attach(element, recording, recording.url, setPieces);
    const time = () => setCurrent(element.currentTime);
    const length = () => Number.isFinite(element.duration) && setDuration(element.duration);
    // A native player that lost its connection fetches again from where it was.
    const failed = () => setTimeout(() => source.current?.resume(element.currentTime), 2000);
    element.addEventListener('timeupdate', time);
    element.addEventListener('durationchange', length);
    element.addEventListener('error', failed);
    return () => {
      element.removeEventListener('timeupdate', time);
      element.removeEventListener('durationchange', length);
      element.removeEventListener('error', failed);
      source.current?.destroy();
    };
  }, [recording?.fileId]);

  if (loaded.error)
    return (
      <p class="error" role="alert">
        {loaded.error}
      </p>
    );
  if (!recording) return <p class="loading">Loading…</p>;
  const marks = pieces.filter((p, i) => i > 0 && p.run !== pieces[i - 1]!.run).map((p) => p.start);
  const startMs = Date.parse(recording.startTime);
  const wallClock = (t: number) => {
    const piece = pieces.find((p) => t >= p.start && t < p.start + p.duration) ?? pieces.at(-1);
    if (piece?.wallMs != null) return when(piece.wallMs + (t - piece.start) * 1000);
    return Number.isFinite(startMs) ? when(startMs + t * 1000) : undefined;
  };
  const seek = (t: number) => {
    const element = media.current;
    if (element) element.currentTime = t;
    setCurrent(t);
  };
  const audioOnly = recording.format === 'aac';
  const points: TimelinePoint[] = [
    ...(recording.timeline?.markers ?? []).map((m) => ({ ...m, kind: 'marker' as const })),
    ...products,
  ];
  return (
    <section aria-labelledby="play-title" class="player">
      <p>
        <a href="#/recordings">← Recordings</a>
      </p>
      <h2 id="play-title">{recording.name}</h2>
      <p class="facts">
        {recording.app}/{recording.streamId} · {recording.format} · {when(recording.startTime)} ·{' '}
        {clock(recording.duration)}
        {' · '}
        {bytes(recording.size)}
        {recording.width > 0 && ` · ${recording.width}×${recording.height}`} · expires{' '}
        <span class="expiry">{recording.expiresAt ? when(recording.expiresAt) : 'never'}</span>
      </p>
      <div class={audioOnly ? 'stage audio' : 'stage'}>
        {audioOnly ? (
          <audio ref={media} controls={false} />
        ) : (
          <video ref={media} playsInline muted={false}>
            {/* The room's messages as cues: the browser shows those of the current time, through seeks. Their
                language is the room's, not known here (und). */}
            {danmaku && (
              <track
                ref={danmakuTrack}
                kind="subtitles"
                label="Danmaku"
                srcLang="und"
                default
                src={danmaku}
              />
            )}
          </video>
        )}
      </div>
      <div class="controls">
        <button
          type="button"
          onClick={() => {
            const element = media.current!;
            if (element.paused) void element.play();
            else element.pause();
          }}
        >
          Play / pause
        </button>
        {danmaku && (
          <button
            type="button"
            class="quiet"
            aria-pressed={danmakuShown}
            onClick={() => setDanmakuShown((shown) => !shown)}
          >
            Danmaku
          </button>
        )}
        <Timeline
          duration={duration || recording.duration}
          current={current}
          marks={marks}
          wallClock={wallClock}
          onSeek={seek}
          {...(thumbnails ? { thumbnails } : {})}
          points={points}
        />
      </div>
      {recording.timeline && <Chapters timeline={recording.timeline} current={current} onSeek={seek} />}
      {marks.length > 0 && (
        <p class="hint">
          Resumed {marks.length} time{marks.length > 1 ? 's' : ''}: the publisher dropped and came back within
          the resume window; the marks show where.
        </p>
      )}
      <Actions recording={recording} session={session} onChanged={loaded.reload} />
      {recording.announcement && (
        <details class="event">
          <summary>The event 100 that announced it</summary>
          <pre>{JSON.stringify(recording.announcement, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}
