import { resumeTimeLeft } from './resume-window.js';

/** What `GET /api/streams` says of one open recording. */
export interface StreamView {
  stream: string;
  app: string;
  recordingId: string;
  state: string;
  formats: readonly string[];
  /** When its media started (ISO), once it did. */
  startedAt: string | null;
  bytesIn: number;
  /** Seconds left in the resume window while interrupted; null otherwise. */
  resumeSecondsLeft: number | null;
  restarts: number;
  node: string;
  /** Storage key of the live HLS playlist (its latest segments), once there is one. */
  livePlaylist: string | null;
}

/** The view of one recording session at `now` (pure). */
export function streamView(
  session: {
    id: string;
    state: string;
    identity: { app: string; stream: string; mediaStartMs: number };
    record: { formats: readonly string[]; hlsResumeTimeoutSeconds: number };
    interruptedAt: number;
    bytesIn: number;
    restarts: number;
    livePlaylistKey?: string | undefined;
  },
  node: string,
  now: number,
): StreamView {
  const interrupted = session.state === 'interrupted';
  return {
    stream: session.identity.stream,
    app: session.identity.app,
    recordingId: session.id,
    state: session.state,
    formats: session.record.formats,
    startedAt:
      session.identity.mediaStartMs > 0 ? new Date(session.identity.mediaStartMs).toISOString() : null,
    bytesIn: session.bytesIn,
    resumeSecondsLeft: interrupted
      ? Math.ceil(
          resumeTimeLeft(
            {
              interruptedAt: session.interruptedAt,
              resumeTimeoutSeconds: session.record.hlsResumeTimeoutSeconds,
            },
            now,
          ) / 1000,
        )
      : null,
    restarts: session.restarts,
    node,
    livePlaylist: session.livePlaylistKey ?? null,
  };
}
