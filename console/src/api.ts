// The console talks to the recorder through its documented routes only: /console/session and the /api/ JSON
// routes, with the session cookie (httpOnly, so never read here) and the CSRF token of the session on changes.

export interface Session {
  name: string;
  role: 'admin' | 'viewer';
  csrf: string;
  /** No token is configured: the console is open on loopback, with no login. */
  open: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let current: Session | undefined;

export function session(): Session {
  if (!current) throw new Error('no session');
  return current;
}

/** The session of this browser, or undefined (then the login page is where to go). */
export async function loadSession(): Promise<Session | undefined> {
  const answer = await fetch('/console/session', { credentials: 'same-origin' });
  if (answer.status === 401) return undefined;
  if (!answer.ok) throw new ApiError(answer.status, `session: ${answer.status}`);
  current = (await answer.json()) as Session;
  return current;
}

async function failure(answer: Response): Promise<ApiError> {
  let message = `${answer.status} ${answer.statusText}`;
  try {
    const body = (await answer.json()) as { message?: string; Response?: { Error?: { Message?: string } } };
    message = body.Response?.Error?.Message ?? body.message ?? message;
  } catch {
    // Not JSON: the status says enough.
  }
  return new ApiError(answer.status, message);
}

/** A JSON route; a change carries the session's CSRF token. A 401 sends the browser to the login page. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['x-csrf-token'] = current?.csrf ?? '';
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const answer = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (answer.status === 401) {
    location.assign('/console/login.html');
    throw await failure(answer);
  }
  if (!answer.ok) throw await failure(answer);
  return (await answer.json()) as T;
}

export async function logout(): Promise<void> {
  await fetch('/console/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'x-csrf-token': current?.csrf ?? '' },
  });
  current = undefined;
  location.assign('/console/login.html');
}

export interface StreamView {
  stream: string;
  app: string;
  recordingId: string;
  state: string;
  formats?: string[];
  startedAt?: string | null;
  since?: string;
  bytesIn?: number;
  resumeSecondsLeft?: number | null;
  restarts?: number;
  node: string;
  nodeAlive?: boolean;
  /** The live HLS playlist on the playback route, where the recording has one. */
  previewUrl?: string | null;
}

export interface Recording {
  url?: string;
  coverUrl: string | null;
  thumbnailsUrl: string | null;
  /** The event 100 that announced it (one recording's answer only). */
  announcement?: Record<string, unknown> | null;
  /** Its markers and live-room events (one recording's answer only); null: none fell in its window. */
  timeline?: RecordingTimeline | null;
  fileId: string;
  key: string;
  name: string;
  format: 'hls' | 'mp4' | 'flv' | 'aac';
  app: string;
  streamId: string;
  startTime: string;
  endTime: string;
  duration: number;
  size: number;
  createdAt: string;
  expiresAt: string | null;
  width: number;
  height: number;
  bitrate: number;
}

/** A recording's timeline sidecars (URLs on the playback route, signed as its url is) and its markers. */
export interface RecordingTimeline {
  eventsUrl: string | null;
  danmakuUrl: string | null;
  chaptersUrl: string | null;
  /** By media time: seconds from the recording's start. */
  markers: { id: string; label: string; seconds: number }[];
  messages: number;
  products: number;
}

/** One event of a recording's `.events.json` sidecar, placed at its media time. */
export interface TimelineEvent {
  kind: 'marker' | 'message' | 'group';
  id: string;
  seconds: number;
  at: string;
  label?: string;
  account?: string;
  text?: string;
  /** A group change: the field changed and its new value; a product push when `product`. */
  field?: string;
  value?: string;
  product?: boolean;
}

export interface RecordingPage {
  recordings: Recording[];
  next: string | null;
}
