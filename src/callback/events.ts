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
}

// A type alias rather than an interface, so a body is assignable to Record<string, unknown>.
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
