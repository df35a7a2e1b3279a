import Hls from 'hls.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type StreamView } from '../api.js';
import { bytes, clock, when } from '../format.js';
import { useTick } from '../hooks.js';

// Polling, once a second: the list is a snapshot of every node's recordings (gathered from Redis in a cluster),
// not a stream of events, and a poll passes any proxy or balancer. An open console costs one small GET a second.
const POLL_MS = 1000;

/** The latest segments of a live HLS recording, muted. */
function Preview({ url }: { url: string }) {
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const element = video.current;
    if (!element || !Hls.isSupported()) return;
    const hls = new Hls({ liveSyncDurationCount: 1, maxBufferLength: 4 });
    hls.loadSource(url);
    hls.attachMedia(element);
    hls.on(Hls.Events.MANIFEST_PARSED, () => void element.play().catch(() => undefined));
    return () => hls.destroy();
  }, [url]);
  return <video ref={video} class="preview" muted playsInline aria-label="live preview" />;
}

function LiveRow({ stream, now }: { stream: StreamView; now: number }) {
  const started = stream.startedAt ?? stream.since;
  return (
    <li class="live-item" data-stream={stream.stream}>
      {stream.previewUrl && stream.state === 'recording' ? (
        <Preview url={stream.previewUrl} />
      ) : (
        <div class="preview none">{stream.state}</div>
      )}
      <div class="live-facts">
        <h3>
          {stream.app}/{stream.stream}
        </h3>
        <p>
          <span class={`state ${stream.state}`}>{stream.state}</span>
          {stream.formats && <span> · {stream.formats.join(', ')}</span>}
          <span> · node {stream.node}</span>
        </p>
        <p>
          {started ? (
            <>
              since {when(started)} ·{' '}
              <span class="duration">{clock((now - Date.parse(started)) / 1000)}</span>
            </>
          ) : (
            'waiting for media'
          )}
          {stream.bytesIn !== undefined && <> · {bytes(stream.bytesIn)} in</>}
          {stream.restarts ? <> · {stream.restarts} restarts</> : null}
        </p>
        {stream.resumeSecondsLeft != null && (
          <p class="resume">
            The publisher dropped: the recording resumes if it returns within {stream.resumeSecondsLeft} s.
          </p>
        )}
      </div>
    </li>
  );
}

export function Live() {
  const [streams, setStreams] = useState<StreamView[] | undefined>(undefined);
  const [error, setError] = useState('');
  const now = useTick(1000);
  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const { streams: list } = await api<{ streams: StreamView[] }>('/api/streams');
        if (live) {
          setStreams(list);
          setError('');
        }
      } catch (err) {
        if (live) setError(err instanceof Error ? err.message : String(err));
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return (
    <section aria-labelledby="live-title">
      <h2 id="live-title">Live</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {streams === undefined ? (
        <p class="loading">Loading…</p>
      ) : streams.length === 0 ? (
        <p class="empty">
          No recording in progress. Push to rtmp://this-host:1935/live/&lt;stream&gt; to start one.
        </p>
      ) : (
        <ul class="live-list">
          {streams.map((s) => (
            <LiveRow key={s.recordingId} stream={s} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}
