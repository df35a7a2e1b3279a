import { z } from 'zod';
import {
  parseTencentParams,
  TencentApiError,
  type TencentActionRegistry,
  type TencentParams,
} from './tencent-api.js';
import { mediaKeys } from '../recording/media.js';
import { AppError } from '../shared/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { MediaCatalog, MediaEntry, MediaTimeline } from '../media/media-index.js';

export interface MediaActionsOptions {
  index: MediaCatalog;
  store: ObjectStore;
  /** Where a media is played from (MediaUrl); unset: the store's own URL. */
  urls?: Pick<ObjectStore, 'urlFor'>;
}

/** Tencent's cap on Offset + Limit, and on TotalCount. */
export const SEARCH_WINDOW = 5000;
/** How Tencent writes "never expires". */
const NEVER = '9999-12-31T23:59:59Z';
const FILTERS = [
  'basicInfo',
  'metaData',
  'transcodeInfo',
  'animatedGraphicsInfo',
  'imageSpriteInfo',
  'snapshotByTimeOffsetInfo',
  'sampleSnapshotInfo',
  'keyFrameDescInfo',
  'adaptiveDynamicStreamingInfo',
  'miniProgramReviewInfo',
  'subtitleInfo',
  'reviewInfo',
  'mpsAiMediaInfo',
  'knowledgeBasesInfo',
] as const;
type Filter = (typeof FILTERS)[number];

const isoTime = z.iso.datetime({ offset: true });
const list = (max: number, itemMax = 100) => z.array(z.string().min(1).max(itemMax)).max(max);
const filters = z.array(z.enum(FILTERS)).max(FILTERS.length);

const searchSchema = z
  .object({
    SubAppId: z.number().int().optional(),
    FileIds: list(10, 40).optional(),
    Names: list(10).optional(),
    NamePrefixes: list(10).optional(),
    StreamIds: list(10).optional(),
    SourceTypes: list(10).optional(),
    CreateTime: z.object({ After: isoTime.optional(), Before: isoTime.optional() }).strict().optional(),
    Sort: z
      .object({ Field: z.literal('CreateTime'), Order: z.enum(['Asc', 'Desc']) })
      .strict()
      .optional(),
    Offset: z.number().int().min(0).max(SEARCH_WINDOW).optional(),
    Limit: z.number().int().min(1).max(SEARCH_WINDOW).optional(),
    Filters: filters.optional(),
    // The recorder's extension: only recordings whose timeline has a marker (true), or has none (false).
    HasMarkers: z.boolean().optional(),
    // Deprecated by Tencent in favour of the lists above; still honoured.
    StreamId: z.string().min(1).optional(),
    SourceType: z.string().min(1).optional(),
    StartTime: isoTime.optional(),
    EndTime: isoTime.optional(),
  })
  .strict();

const describeSchema = z
  .object({ SubAppId: z.number().int().optional(), FileIds: list(20, 40), Filters: filters.optional() })
  .strict();

const deleteSchema = z
  .object({
    SubAppId: z.number().int().optional(),
    FileId: z.string().min(1).max(40),
    // Only [] (everything) means something here: a recording has no transcodes to delete apart.
    DeleteParts: z.array(z.never()).max(0).optional(),
  })
  .strict();

/** SearchMedia: filters of the media index, sorted by CreateTime, at most 5000 deep. */
export async function searchMedia(options: MediaActionsOptions, params: TencentParams): Promise<object> {
  const p = parseTencentParams(searchSchema, params);
  const offset = p.Offset ?? 0;
  const limit = p.Limit ?? 10;
  if (offset + limit > SEARCH_WINDOW) {
    throw new TencentApiError('InvalidParameterValue', `Offset + Limit must not exceed ${SEARCH_WINDOW}`);
  }
  const sourceTypes = [...(p.SourceTypes ?? []), ...(p.SourceType ? [p.SourceType] : [])];
  // Every media here is a recording.
  if (sourceTypes.length && !sourceTypes.includes('Record')) return { TotalCount: 0, MediaInfoSet: [] };
  const after = p.CreateTime?.After ?? p.StartTime;
  const before = p.CreateTime?.Before ?? p.EndTime;
  const streamIds = [...(p.StreamIds ?? []), ...(p.StreamId ? [p.StreamId] : [])];
  const { totalCount, entries } = await options.index.search({
    ...(p.FileIds?.length ? { fileIds: p.FileIds } : {}),
    ...(p.Names?.length ? { names: p.Names } : {}),
    ...(p.NamePrefixes?.length ? { namePrefixes: p.NamePrefixes } : {}),
    ...(streamIds.length ? { streamIds } : {}),
    ...(after ? { createdAtOrAfterMs: Date.parse(after) } : {}),
    ...(before ? { createdBeforeMs: Date.parse(before) } : {}),
    ...(p.HasMarkers !== undefined ? { hasMarkers: p.HasMarkers } : {}),
    order: p.Sort?.Order === 'Asc' ? 'asc' : 'desc',
    offset,
    limit,
    countCap: SEARCH_WINDOW,
  });
  return {
    TotalCount: totalCount,
    MediaInfoSet: await Promise.all(
      entries.map((e) => mediaInfo(options.urls ?? options.store, e, p.Filters)),
    ),
  };
}

/** DescribeMediaInfos: the media of up to 20 FileIds, in the order asked, and the ids that do not exist. */
export async function describeMediaInfos(
  options: MediaActionsOptions,
  params: TencentParams,
): Promise<object> {
  const p = parseTencentParams(describeSchema, params);
  const ids = [...new Set(p.FileIds)];
  const found = new Map((await options.index.get(ids)).map((e) => [e.fileId, e]));
  return {
    MediaInfoSet: await Promise.all(
      ids.flatMap((id) => {
        const entry = found.get(id);
        return entry ? [mediaInfo(options.urls ?? options.store, entry, p.Filters)] : [];
      }),
    ),
    NotExistFileIdSet: ids.filter((id) => !found.has(id)),
  };
}

/** DeleteMedia: every object of the media (an HLS playlist's segments too), then its index row. */
export async function deleteMedia(options: MediaActionsOptions, params: TencentParams): Promise<object> {
  const p = parseTencentParams(deleteSchema, params);
  if (!(await deleteMediaById(options, p.FileId)))
    throw new TencentApiError('ResourceNotFound.FileNotExist', `the file ${p.FileId} does not exist`);
  return {};
}

/** Deletes every object of a media (an HLS playlist's segments too), then its index row; false when none. */
export async function deleteMediaById(options: MediaActionsOptions, fileId: string): Promise<boolean> {
  const [entry] = await options.index.get([fileId]);
  if (!entry) return false;
  let keys: string[];
  try {
    keys = await mediaKeysOf(options.store, entry.key);
  } catch (err) {
    throw tencentStorageError(err);
  }
  // Its thumbnails and timeline sidecars go too, even when the media itself is already gone.
  const { events, danmaku, chapters } = entry.timeline ?? {};
  for (const key of [...Object.values(entry.thumbnails ?? {}), events, danmaku, chapters])
    if (key && !keys.includes(key)) keys.push(key);
  // Segments before their playlist: a failure part-way leaves a playlist that still names what is left, so a
  // second DeleteMedia finishes the job.
  for (const key of [...keys.slice(1), ...keys.slice(0, 1)]) {
    try {
      await options.store.delete(key);
    } catch (err) {
      throw tencentStorageError(err);
    }
  }
  await options.index.remove(entry.fileId);
  return true;
}

/** Registers SearchMedia, DescribeMediaInfos and DeleteMedia (VOD, version 2018-07-17). */
export function registerMediaActions(registry: TencentActionRegistry, options: MediaActionsOptions): void {
  registry
    .register('vod', 'SearchMedia', (params) => searchMedia(options, params))
    .register('vod', 'DescribeMediaInfos', (params) => describeMediaInfos(options, params))
    .register('vod', 'DeleteMedia', (params) => deleteMedia(options, params));
}

/** Every key of a media; none when its main object is already gone (expired, or deleted by hand). */
async function mediaKeysOf(store: ObjectStore, key: string): Promise<string[]> {
  if (!(await store.stat(key))) return [];
  return mediaKeys(store, key);
}

function tencentStorageError(err: unknown): Error {
  const code = err instanceof AppError ? err.code : undefined;
  if (code === 'STORAGE_LOCKED') {
    return new TencentApiError('FailedOperation', 'the media is under object lock (WORM) until its expiry', {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Tencent's MediaInfo of one entry, with the parts Filters asks for (all when Filters is absent), and the recorder's
 * extension TimelineInfo when the media has a timeline (whatever Filters says: Tencent's filters do not name it).
 */
async function mediaInfo(
  urls: Pick<ObjectStore, 'urlFor'>,
  entry: MediaEntry,
  wanted: readonly Filter[] | undefined,
): Promise<object> {
  const want = (filter: Filter) => !wanted || wanted.length === 0 || wanted.includes(filter);
  return {
    FileId: entry.fileId,
    ...(want('basicInfo') ? { BasicInfo: await basicInfo(urls, entry) } : {}),
    ...(want('metaData') ? { MetaData: metaData(entry) } : {}),
    ...(entry.timeline ? { TimelineInfo: await timelineInfo(urls, entry.timeline) } : {}),
  };
}

/** The recorder's extension of MediaInfo: where its timeline sidecars are, and what they hold in short. */
async function timelineInfo(urls: Pick<ObjectStore, 'urlFor'>, timeline: MediaTimeline): Promise<object> {
  return {
    EventsUrl: await urls.urlFor(timeline.events),
    DanmakuUrl: await urls.urlFor(timeline.danmaku),
    ChaptersUrl: await urls.urlFor(timeline.chapters),
    // Offset: seconds from the media's start.
    Markers: timeline.markers.map((m) => ({ Id: m.id, Label: m.label, Offset: m.seconds })),
    MessageCount: timeline.messages,
    ProductCount: timeline.products,
  };
}

async function basicInfo(urls: Pick<ObjectStore, 'urlFor'>, entry: MediaEntry): Promise<object> {
  return {
    Name: entry.name,
    Description: '',
    CreateTime: isoSeconds(entry.createTimeMs),
    UpdateTime: isoSeconds(entry.createTimeMs),
    ExpireTime: entry.expireTimeMs === null ? NEVER : isoSeconds(entry.expireTimeMs),
    ClassId: 0,
    ClassName: '',
    ClassPath: '',
    CoverUrl: entry.thumbnails?.cover ? await urls.urlFor(entry.thumbnails.cover) : '',
    Type: entry.key.slice(entry.key.lastIndexOf('.') + 1),
    MediaUrl: await urls.urlFor(entry.key),
    SourceInfo: {
      SourceType: 'Record',
      SourceContext: entry.sourceContext,
      LiveRecordInfo: {
        Domain: entry.domain,
        Path: entry.app,
        StreamId: entry.streamId,
        RecordStartTime: isoSeconds(entry.startMs),
        RecordEndTime: isoSeconds(entry.endMs),
      },
    },
    StorageRegion: '',
    StoragePath: entry.key,
    TagSet: [],
    Vid: entry.vid,
    Category: entry.width > 0 || entry.videoStreams.length ? 'Video' : 'Audio',
    Status: 'Normal',
    StorageClass: 'STANDARD',
  };
}

function metaData(entry: MediaEntry): object {
  const video = entry.videoStreams.length > 0;
  const audio = entry.audioStreams.length > 0;
  return {
    Size: entry.size,
    Container: entry.container,
    Bitrate: entry.bitrate,
    Height: entry.height,
    Width: entry.width,
    Duration: entry.duration,
    Rotate: 0,
    VideoStreamSet: entry.videoStreams.map((s) => ({
      Bitrate: s.bitrate,
      Height: s.height,
      Width: s.width,
      Codec: s.codec,
      Fps: s.fps,
    })),
    AudioStreamSet: entry.audioStreams.map((s) => ({
      Bitrate: s.bitrate,
      SamplingRate: s.samplingRate,
      Codec: s.codec,
    })),
    VideoDuration: video ? entry.duration : 0,
    AudioDuration: audio ? entry.duration : 0,
  };
}

/** ISO 8601 in UTC to the second, as Tencent writes times (`2020-02-16T04:12:12Z`). */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
