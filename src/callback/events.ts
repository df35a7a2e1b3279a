import { randomBytes } from 'node:crypto';
import type { RecordFormat } from '../config/schema.js';
import { AppError } from '../shared/errors.js';

/** What the recorder knows about one finished file; the input of the event 100 body. */
export interface RecordFileFacts {
  /** Account APPID (configured). */
  appid: number;
  /** `app` field: the configured domain, else the host the publisher used. */
  domain: string;
  /** RTMP app, e.g. `live`. */
  appName: string;
  /** Stream name; also sent as channel_id. */
  streamId: string;
  fileId: string;
  format: RecordFormat;
  /** CreateRecordTask id, or a per-recording session id. */
  taskId: string;
  /** '' for the default template. */
  templateId: string;
  /** The file's first media, Unix ms (may be fractional). */
  startMs: number;
  /** The file's last media, Unix ms (may be fractional). */
  endMs: number;
  durationSeconds: number;
  fileSize: number;
  /** The push URL's query string, verbatim. */
  streamParam: string;
  videoUrl: string;
  videoId: string;
  /** First frame received, Unix ms. */
  mediaStartMs: number;
  /** e.g. 'h264'. */
  videoCodec: string;
  /** e.g. '1280x720'; '' when audio only. */
  resolution: string;
  sessionId: string;
  /** The file's health (`file_health`, outside Tencent's fields); absent: the body has no such field. */
  fileHealth?: RecordFileHealth;
}

// Type aliases rather than interfaces, so a body is assignable to Record<string, unknown>.
/** Timestamp repairs applied to a file's media, by kind (src/ingest/timestamps.ts). */
export type RecordFileRepairs = { reset: number; jump: number; wrap: number; start: number; drift: number };

/**
 * Event 100's `file_health`, outside Tencent's fields: what a receiver needs to reject a damaged file without
 * reading it. Null where the recorder does not know (e.g. a file recovered after a crash).
 */
export type RecordFileHealth = {
  /** SHA-256 (lowercase hex) of the file as stored; for HLS, of the playlist text. */
  sha256: string;
  /**
   * HLS only: SHA-256 of its segments' SHA-256 digests, lowercase hex, joined by "\n" (no trailing newline), in
   * playlist order; null when a segment's digest is not known.
   */
  segments_sha256?: string | null;
  /** Seconds of media measured in the file (ffprobe; AAC: its frames counted; HLS: the sum of its EXTINF). */
  duration: number | null;
  /** Wall-clock seconds the file covers: end_time − start_time, with their microseconds. */
  wall_seconds: number;
  /** The largest audio/video timestamp offset measured, ms; null without both tracks, or when not measured. */
  max_av_offset_ms: number | null;
  /** Repairs applied to the file's media, by kind (HLS: the whole recording); null when not known. */
  timestamp_repairs: RecordFileRepairs | null;
  /** True when the file's ffmpeg died or was killed before closing it: it ends where the last write reached. */
  cut: boolean;
};

/** Tencent's recording callback (event_type 100) without its signature. */
export type RecordEventBody = {
  event_type: 100;
  appid: number;
  app: string;
  appname: string;
  stream_id: string;
  channel_id: string;
  file_id: string;
  record_file_id: string;
  record_temp_id: string;
  file_format: string;
  task_id: string;
  start_time: number;
  end_time: number;
  start_time_usec: number;
  end_time_usec: number;
  duration: number;
  file_size: number;
  stream_param: string;
  video_url: string;
  video_id: string;
  media_start_time: number;
  record_bps: number;
  callback_ext: string;
  /** Not Tencent's: see RecordFileHealth. */
  file_health?: RecordFileHealth;
};

/** The recording callback as sent: the body plus `sign` and `t`. */
export type SignedRecordEventBody = RecordEventBody & { sign: string; t: number };

/** The `callback_ext` JSON string's content. */
export interface RecordCallbackExt {
  video_codec: string;
  resolution: string;
  session_id: string;
}

/** Whole Unix seconds and the microsecond remainder of a Unix ms time. */
export function splitUnixMs(ms: number): { seconds: number; usec: number } {
  // Round to whole microseconds first, so the remainder can never come out as 1_000_000.
  const micros = Math.round(ms * 1000);
  const seconds = Math.floor(micros / 1_000_000);
  return { seconds, usec: micros - seconds * 1_000_000 };
}

/** The event 100 body for one finished file. */
export function buildRecordEvent(f: RecordFileFacts): RecordEventBody {
  const numbers = {
    appid: f.appid,
    startMs: f.startMs,
    endMs: f.endMs,
    durationSeconds: f.durationSeconds,
    fileSize: f.fileSize,
    mediaStartMs: f.mediaStartMs,
  };
  for (const [name, value] of Object.entries(numbers)) {
    // NaN and Infinity would be sent as JSON null, which breaks the receiver's field types.
    if (!Number.isFinite(value)) {
      throw new AppError('CALLBACK_EVENT_INVALID', `record event: ${name} is not a finite number: ${value}`);
    }
  }
  const start = splitUnixMs(f.startMs);
  const end = splitUnixMs(f.endMs);
  const ext: RecordCallbackExt = {
    video_codec: f.videoCodec,
    resolution: f.resolution,
    session_id: f.sessionId,
  };
  return {
    event_type: 100,
    appid: f.appid,
    app: f.domain,
    appname: f.appName,
    stream_id: f.streamId,
    channel_id: f.streamId,
    file_id: f.fileId,
    record_file_id: f.fileId,
    record_temp_id: f.templateId,
    file_format: f.format,
    task_id: f.taskId,
    start_time: start.seconds,
    end_time: end.seconds,
    start_time_usec: start.usec,
    end_time_usec: end.usec,
    duration: Math.round(f.durationSeconds * 1000) / 1000,
    file_size: f.fileSize,
    stream_param: f.streamParam,
    video_url: f.videoUrl,
    video_id: f.videoId,
    media_start_time: Math.floor(f.mediaStartMs),
    record_bps: 0,
    callback_ext: JSON.stringify(ext),
    ...(f.fileHealth ? { file_health: f.fileHealth } : {}),
  };
}

const TWO_62 = 1n << 62n;
const FILE_ID_BASE = 10n ** 18n;

/** A Tencent-style file id: 19 decimal digits, never a leading 0, from 62 random bits. */
export function newFileId(): string {
  const bits = randomBytes(8).readBigUInt64BE() % TWO_62;
  // 10^18 + [0, 2^62) always has 19 digits and stays below 2^63, so receivers may parse it as an int64.
  return (FILE_ID_BASE + bits).toString();
}

/** A video id of the form `<appid>_<32 lowercase hex>`, as in real callbacks. */
export function newVideoId(appid: number): string {
  return `${appid}_${randomBytes(16).toString('hex')}`;
}

/** What Tencent adds to every callback: `sign = md5(key + t)`, `t` the signature's expiry (Unix s). */
export type CallbackSignature = { sign: string; t: number };

/** Event 100 as a receiver gets it. */
export type RecordFileEvent = SignedRecordEventBody;

/** The callback settings that pick the URL of each event. */
export interface NotifyUrlConfig {
  url?: string | undefined;
  StreamBeginNotifyUrl?: string | undefined;
  StreamEndNotifyUrl?: string | undefined;
  RecordNotifyUrl?: string | undefined;
  RecordStatusNotifyUrl?: string | undefined;
}

/** Where each event goes; undefined: that event is not sent. */
export interface NotifyUrls {
  /** Event 1. */
  streamBegin: string | undefined;
  /** Event 0. */
  streamEnd: string | undefined;
  /** Event 100. */
  record: string | undefined;
  /** Event 332. */
  recordStatus: string | undefined;
}

/** Each event's own URL, else `url`. */
export function notifyUrls(callback: NotifyUrlConfig): NotifyUrls {
  return {
    streamBegin: callback.StreamBeginNotifyUrl ?? callback.url,
    streamEnd: callback.StreamEndNotifyUrl ?? callback.url,
    record: callback.RecordNotifyUrl ?? callback.url,
    recordStatus: callback.RecordStatusNotifyUrl ?? callback.url,
  };
}

/** What the recorder knows about one publish; the input of the event 1 and 0 bodies. */
export interface StreamFacts {
  appid: number;
  /** `app` field: the configured domain, else the host the publisher used. */
  domain: string;
  appName: string;
  streamId: string;
  /** One id per publish, the same in its event 1 and event 0. */
  sequence: string;
  /** Address of the recorder that took the push. */
  node: string;
  /** The publisher's address. */
  userIp: string;
  /** The push URL's query string, verbatim. */
  streamParam: string;
  /** 0 while the video header has not been seen. */
  width: number;
  height: number;
}

// Type aliases rather than interfaces, so a body is assignable to Record<string, unknown>.
/** Fields shared by events 1 and 0, without the signature. */
export type StreamEventFields = {
  appid: number;
  app: string;
  appname: string;
  stream_id: string;
  channel_id: string;
  /** Unix seconds. */
  event_time: number;
  sequence: string;
  node: string;
  user_ip: string;
  stream_param: string;
  errcode: number;
  errmsg: string;
  width: number;
  height: number;
  /** Tencent: 1–6 a push inside the Chinese mainland, 7–200 outside; always 1 here. */
  set_id: number;
};

/** Event 1 (push started) without its signature. */
export type StreamBeginEventBody = StreamEventFields & { event_type: 1 };
/** Event 0 (stream ended) without its signature. */
export type StreamEndEventBody = StreamEventFields & {
  event_type: 0;
  /** Milliseconds the push lasted, as a decimal string (Tencent's type). */
  push_duration: string;
};
/** Event 1 as a receiver gets it. */
export type StreamBeginEvent = StreamBeginEventBody & CallbackSignature;
/** Event 0 as a receiver gets it. */
export type StreamEndEvent = StreamEndEventBody & CallbackSignature;

/** The `record_event` values of event 332, in Tencent's spelling. */
export const RECORD_STATUSES = [
  'record_start_succeeded',
  'record_start_failed',
  'record_paused',
  'record_resumed',
  'record_error',
  'record_ended',
] as const;
export type RecordStatus = (typeof RECORD_STATUSES)[number];

/** What the recorder knows at one recording status change; the input of the event 332 body. */
export interface RecordStatusFacts {
  appid: number;
  domain: string;
  appName: string;
  streamId: string;
  status: RecordStatus;
  /** The recording's session id (event 100's task_id). */
  sessionId: string;
  /** Position of this event among the recording's 332 events: 1, 2, ... */
  seq: number;
  formats: readonly RecordFormat[];
  /** Why the status changed, e.g. the ffmpeg error. */
  reason: string;
}

/** Event 332 (recording status) without its signature; Tencent's field set, which names the domain `domain`. */
export type RecordStatusEventBody = {
  event_type: 332;
  appid: number;
  domain: string;
  appname: string;
  stream_id: string;
  /** Unix seconds. */
  event_time: number;
  record_event: RecordStatus;
  /** A JSON string: see RecordStatusDetail. */
  record_detail: string;
  session_id: string;
  /** Tencent sends a string; here the event's position in its recording, so receivers can order them. */
  seq: string;
};
/** Event 332 as a receiver gets it. */
export type RecordStatusEvent = RecordStatusEventBody & CallbackSignature;

/** The `record_detail` JSON string's content. */
export interface RecordStatusDetail {
  /** Tencent codes: 1 FLV, 2 HLS, 3 MP4, 4 AAC; one recording here writes every configured format. */
  file_format: number[];
  /** 0: stream copy. */
  record_bps: number;
  /** 1: started by a recording rule (not by CreateRecordTask). */
  start_model: number;
  /** 1: the original stream. */
  record_content: number;
  /** 1: live recording. */
  source_type: number;
  /** Not a Tencent key: why the status changed ('' when there is nothing to say). */
  reason: string;
}

const TENCENT_FORMAT_CODES: Readonly<Record<RecordFormat, number>> = { flv: 1, hls: 2, mp4: 3, aac: 4 };

function streamFields(f: StreamFacts, nowMs: number, errcode: number, errmsg: string): StreamEventFields {
  return {
    appid: f.appid,
    app: f.domain,
    appname: f.appName,
    stream_id: f.streamId,
    channel_id: f.streamId,
    event_time: Math.floor(nowMs / 1000),
    sequence: f.sequence,
    node: f.node,
    user_ip: f.userIp,
    stream_param: f.streamParam,
    errcode,
    errmsg,
    width: f.width,
    height: f.height,
    set_id: 1,
  };
}

/** The event 1 body of a push that has just been accepted. */
export function buildStreamBeginEvent(f: StreamFacts, nowMs: number): StreamBeginEventBody {
  return { event_type: 1, ...streamFields(f, nowMs, 0, '') };
}

/** The event 0 body of a push that has ended; `startedMs` is when it was accepted. */
export function buildStreamEndEvent(
  f: StreamFacts,
  startedMs: number,
  end: { errcode: number; errmsg: string },
  nowMs: number,
): StreamEndEventBody {
  return {
    event_type: 0,
    ...streamFields(f, nowMs, end.errcode, end.errmsg),
    push_duration: String(Math.max(0, Math.round(nowMs - startedMs))),
  };
}

/** The event 332 body of one recording status change. */
export function buildRecordStatusEvent(f: RecordStatusFacts, nowMs: number): RecordStatusEventBody {
  const detail: RecordStatusDetail = {
    file_format: f.formats.map((format) => TENCENT_FORMAT_CODES[format]),
    record_bps: 0,
    start_model: 1,
    record_content: 1,
    source_type: 1,
    reason: f.reason,
  };
  return {
    event_type: 332,
    appid: f.appid,
    domain: f.domain,
    appname: f.appName,
    stream_id: f.streamId,
    event_time: Math.floor(nowMs / 1000),
    record_event: f.status,
    record_detail: JSON.stringify(detail),
    session_id: f.sessionId,
    seq: String(f.seq),
  };
}

/** A push's sequence: 19 decimal digits, like Tencent's. */
export function newSequence(): string {
  return newFileId();
}

/** What a log line says of a callback body: its event type and stream (pure). */
export function callbackFields(body: Record<string, unknown>): { eventType: unknown; stream: unknown } {
  return { eventType: body.event_type ?? null, stream: body.stream_id ?? body.stream ?? null };
}
