import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { RECORD_FORMATS } from '../config/schema.js';
import {
  InvalidListQueryError,
  RECORDING_LIST_MAX_LIMIT,
  RECORDING_SORTS,
  type MediaCatalog,
  type MediaEntry,
  type RecordingPage,
} from '../media/media-index.js';
import { AppError } from '../shared/errors.js';
import { parseTencentParams, TencentApiError, type TencentParams } from './tencent-api.js';

export interface RecordingRoutesOptions {
  catalog: Pick<MediaCatalog, 'list' | 'get'>;
  /** Deletes every object of a media, then its index entry (media-actions' deleteMediaById); false when none. */
  deleteMedia: (fileId: string) => Promise<boolean>;
  /** Where a recording plays (video_url's rule, signed with playback.key); unset: no url field. */
  urlFor?: (key: string) => Promise<string>;
}

const UNIX_SECONDS = /^\d{1,12}(\.\d{1,3})?$/;
const isoTime = z.iso.datetime({ offset: true });
/** A time parameter: ISO 8601 with a zone, or Unix seconds; to Unix ms. */
export const instant = z
  .string()
  .refine((s) => UNIX_SECONDS.test(s) || isoTime.safeParse(s).success, {
    error: 'must be ISO 8601 with a zone (2024-05-01T08:00:00Z) or Unix seconds',
  })
  .transform((s) => (UNIX_SECONDS.test(s) ? Math.round(Number(s) * 1000) : Date.parse(s)));
const limitError = `must be a whole number from 1 to ${RECORDING_LIST_MAX_LIMIT}`;

const listQuery = z
  .strictObject({
    prefix: z.string().min(1).max(1024).optional(),
    from: instant.optional(),
    to: instant.optional(),
    format: z.enum(RECORD_FORMATS).optional(),
    sort: z.enum(RECORDING_SORTS).optional(),
    order: z.enum(['asc', 'desc']).optional(),
    limit: z.coerce
      .number({ error: limitError })
      .int({ error: limitError })
      .min(1, { error: limitError })
      .max(RECORDING_LIST_MAX_LIMIT, { error: limitError })
      .optional(),
    cursor: z.string().min(1).max(1024).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    path: ['to'],
    error: 'must be later than from',
  });

const fileIdParams = z.object({ fileId: z.string().min(1).max(128) });

/** One recording as the API shows it: times in ISO 8601 (UTC), duration in seconds, size in bytes. */
export function recordingView(
  entry: MediaEntry,
  urls: { url?: string; coverUrl?: string; thumbnailsUrl?: string } = {},
) {
  return {
    ...(urls.url !== undefined ? { url: urls.url } : {}),
    coverUrl: urls.coverUrl ?? null,
    thumbnailsUrl: urls.thumbnailsUrl ?? null,
    fileId: entry.fileId,
    key: entry.key,
    name: entry.name,
    format: entry.format,
    domain: entry.domain,
    app: entry.app,
    streamId: entry.streamId,
    startTime: new Date(entry.startMs).toISOString(),
    endTime: new Date(entry.endMs).toISOString(),
    duration: entry.duration,
    size: entry.size,
    createdAt: new Date(entry.createTimeMs).toISOString(),
    expiresAt: entry.expireTimeMs === null ? null : new Date(entry.expireTimeMs).toISOString(),
    container: entry.container,
    width: entry.width,
    height: entry.height,
    bitrate: entry.bitrate,
    videoStreams: entry.videoStreams,
    audioStreams: entry.audioStreams,
    vid: entry.vid,
    taskId: entry.taskId,
    sourceContext: entry.sourceContext,
  };
}

/**
 * The recordings of the media index: a keyset-paged listing (defaults: RECORDING_LIST_DEFAULTS), one by FileId, and
 * its deletion (a change, so admin only behind the /api/ guard).
 */
export function registerRecordingRoutes(app: FastifyInstance, options: RecordingRoutesOptions): void {
  const { catalog } = options;
  const view = async (entry: MediaEntry) => {
    const urlFor = options.urlFor;
    if (!urlFor) return recordingView(entry);
    const { cover, vtt } = entry.thumbnails ?? {};
    return recordingView(entry, {
      url: await urlFor(entry.key),
      ...(cover ? { coverUrl: await urlFor(cover) } : {}),
      ...(vtt ? { thumbnailsUrl: await urlFor(vtt) } : {}),
    });
  };

  app.get('/api/recordings', async (request) => {
    const q = parseTencentParams(listQuery, request.query as TencentParams);
    let page: RecordingPage;
    try {
      page = await catalog.list({
        ...(q.prefix !== undefined ? { prefix: q.prefix } : {}),
        ...(q.from !== undefined ? { fromMs: q.from } : {}),
        ...(q.to !== undefined ? { toMs: q.to } : {}),
        ...(q.format !== undefined ? { format: q.format } : {}),
        ...(q.sort !== undefined ? { sort: q.sort } : {}),
        ...(q.order !== undefined ? { order: q.order } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
    } catch (err) {
      if (err instanceof InvalidListQueryError)
        throw new TencentApiError('InvalidParameterValue', err.message, { cause: err });
      throw err;
    }
    return { recordings: await Promise.all(page.entries.map(view)), next: page.next ?? null };
  });

  // Where a recording's timeline sidecars play (null without urlFor), and what they hold; null: no timeline.
  const timelineView = async (entry: MediaEntry) => {
    const timeline = entry.timeline;
    if (!timeline) return null;
    const urlFor = options.urlFor ?? (async () => null);
    return {
      eventsUrl: await urlFor(timeline.events),
      danmakuUrl: await urlFor(timeline.danmaku),
      chaptersUrl: await urlFor(timeline.chapters),
      markers: timeline.markers,
      messages: timeline.messages,
      products: timeline.products,
    };
  };

  app.get('/api/recordings/:fileId', async (request) => {
    const { fileId } = parseTencentParams(fileIdParams, request.params as TencentParams);
    const [entry] = await catalog.get([fileId]);
    if (!entry) throw new AppError('NOT_FOUND', `no recording ${fileId}`);
    // One recording also says how it was announced (the event 100 body, without t, sign and event_id), and
    // its timeline.
    return {
      ...(await view(entry)),
      announcement: entry.announcement ?? null,
      timeline: await timelineView(entry),
    };
  });

  app.delete('/api/recordings/:fileId', async (request) => {
    const { fileId } = parseTencentParams(fileIdParams, request.params as TencentParams);
    if (!(await options.deleteMedia(fileId))) throw new AppError('NOT_FOUND', `no recording ${fileId}`);
    return { fileId, deleted: true };
  });
}
