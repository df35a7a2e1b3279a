import Hls from 'hls.js';
import mpegts from 'mpegts.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Recording, type Session } from '../api.js';
import { bytes, clock, when } from '../format.js';
import { useLoad } from '../hooks.js';
import { Timeline } from '../timeline.js';
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
    fetch(url, { credentials: 'same-origin' })
      .then((answer) => (answer.ok ? answer.text() : Promise.reject(new Error(String(answer.status)))))
      .then((text) => setThumbnails(parseThumbnailVtt(text, url)))
      .catch(() => setThumbnails(undefined));
  }, [recording?.thumbnailsUrl]);

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
        {audioOnly ? <audio ref={media} controls={false} /> : <video ref={media} playsInline muted={false} />}
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
        <Timeline
          duration={duration || recording.duration}
          current={current}
          marks={marks}
          wallClock={wallClock}
          onSeek={seek}
          {...(thumbnails ? { thumbnails } : {})}
        />
      </div>
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
