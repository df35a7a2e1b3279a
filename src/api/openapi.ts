/**
 * What /api/openapi.json says of each route. Kept here rather than on the routes: a route's schema would also
 * validate and serialize, and these routes validate with zod and answer errors in Tencent's shape.
 */

type Schema = Record<string, unknown>;

export interface OperationDoc {
  summary: string;
  description?: string;
  tags: string[];
  querystring?: Schema;
  params?: Schema;
  body?: Schema;
  response?: Record<string, Schema>;
  /** Overrides the document's bearer security (the health probes need none). */
  security?: Record<string, string[]>[];
}

export const OPENAPI_INFO = {
  openapi: '3.0.3',
  info: {
    title: 'recorder',
    description:
      'The recorder’s own HTTP routes: playback, health, and the operator API under /api/ ' +
      '(a bearer token from api.tokens or api.adminToken; with none set, loopback only). ' +
      'Tencent’s TC3-signed actions are on POST / and are described by Tencent’s own API documents.',
    version: '1',
  },
  components: {
    securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer' } },
  },
  security: [{ bearer: [] }],
};

const string = { type: 'string' };
const integer = { type: 'integer' };
const nullable = (schema: Schema) => ({ ...schema, nullable: true });
const object = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
});
const error = object({ statusCode: integer, error: string, message: string });
const apiError = object({
  Response: object({ Error: object({ Code: string, Message: string }), RequestId: string }),
  statusCode: integer,
  error: string,
  message: string,
});

const stream = object({
  stream: string,
  app: string,
  recordingId: string,
  state: {
    type: 'string',
    description: 'starting, recording, interrupted, finalizing (this node’s); live… elsewhere',
  },
  formats: { type: 'array', items: string },
  startedAt: nullable({ ...string, format: 'date-time' }),
  bytesIn: integer,
  resumeSecondsLeft: nullable(integer),
  restarts: integer,
  node: string,
  nodeAlive: { type: 'boolean', description: 'only for another node’s recording' },
  livePlaylist: nullable({ ...string, description: 'storage key of the live HLS playlist' }),
  previewUrl: nullable({ ...string, description: 'the live playlist on the playback route (signed)' }),
});

const time = { ...string, format: 'date-time' };
const recording = object({
  url: { ...string, description: 'where it plays: video_url’s rule, signed when playback.key is set' },
  coverUrl: nullable({ ...string, description: 'its cover, a JPEG of the first keyframe, once made' }),
  thumbnailsUrl: nullable({
    ...string,
    description: 'WebVTT of its scrub thumbnails (tiles of a sprite beside it)',
  }),
  fileId: string,
  key: { ...string, description: 'storage key, app/file' },
  name: string,
  format: { type: 'string', enum: ['hls', 'mp4', 'flv', 'aac'] },
  domain: string,
  app: string,
  streamId: string,
  startTime: time,
  endTime: time,
  duration: { type: 'number', description: 'seconds' },
  size: { ...integer, description: 'bytes' },
  createdAt: time,
  expiresAt: nullable(time),
  container: string,
  width: integer,
  height: integer,
  bitrate: integer,
  videoStreams: {
    type: 'array',
    items: object({ codec: string, bitrate: integer, width: integer, height: integer, fps: integer }),
  },
  audioStreams: { type: 'array', items: object({ codec: string, bitrate: integer, samplingRate: integer }) },
  vid: string,
  taskId: string,
  sourceContext: string,
});

const callback = object({
  id: string,
  url: string,
  eventType: nullable(integer),
  attempts: integer,
  lastError: nullable(string),
  createdAt: time,
});

const signature = {
  t: { ...string, description: 'expiry, Unix seconds in lowercase hex' },
  exper: { ...string, description: 'preview seconds; 0 or empty: all (HLS playlists are cut to it)' },
  rlimit: { ...string, description: 'most client IPs (accepted, not enforced)' },
  us: { ...string, description: 'a random id of the link' },
  sign: { ...string, description: 'md5(KEY + Dir + t + exper + rlimit + us)' },
};

const marker = object({
  id: string,
  app: string,
  stream: string,
  label: string,
  at: time,
  seconds: nullable({ type: 'number', description: 'media time in the recording that holds it, when known' }),
});
const streamParams = object({ app: string, stream: string }, ['app', 'stream']);

const DOCS: Record<string, OperationDoc> = {
  'POST /api/markers': {
    summary:
      'Set a marker on a live or interrupted recording, or (with at) on a stored one that holds that time',
    tags: ['timeline'],
    body: object(
      {
        app: string,
        stream: string,
        label: { ...string, description: '1..200 characters' },
        at: { ...integer, description: 'wall-clock Unix ms; default now' },
      },
      ['app', 'stream', 'label'],
    ),
    response: { 201: marker, 400: apiError, 404: apiError },
  },
  'GET /api/markers': {
    summary: 'The markers of a stream, by time',
    tags: ['timeline'],
    querystring: streamParams,
    response: { 200: object({ markers: { type: 'array', items: marker } }), 400: apiError },
  },
  'DELETE /api/markers/:id': {
    summary: 'Remove a marker (and from the sidecars of a stored recording that holds it)',
    tags: ['timeline'],
    params: object({ id: string }, ['id']),
    querystring: streamParams,
    response: { 200: object({ id: string, deleted: { type: 'boolean' } }), 404: apiError },
  },
  'GET /api/audit': {
    summary: 'The audit trail, every node’s entries by time (admin)',
    tags: ['audit'],
    querystring: object({
      from: { ...string, description: 'at or after: ISO 8601 with a zone, or Unix seconds' },
      to: { ...string, description: 'before' },
      stream: { ...string, description: 'only entries whose subject starts with it: live/stream1' },
      limit: { ...integer, description: '1..10000, default 1000' },
    }),
    response: {
      200: object({
        entries: {
          type: 'array',
          items: object({
            seq: integer,
            at: time,
            node: string,
            who: string,
            from: string,
            action: string,
            subject: string,
            detail: { type: 'object' },
            prev: { ...string, description: 'SHA-256 of the entry before' },
            hash: { ...string, description: 'SHA-256 of this entry without hash' },
          }),
        },
      }),
      400: apiError,
      403: apiError,
    },
  },
  'DELETE /api/timeline/events': {
    summary: 'Remove one account’s IM messages of a group from the timeline and every stored sidecar (admin)',
    tags: ['timeline'],
    querystring: object({ groupId: string, account: string }, ['groupId', 'account']),
    response: {
      200: object({
        groupId: string,
        account: string,
        removed: { ...integer, description: 'messages removed' },
        media: {
          type: 'array',
          items: string,
          description: 'storage keys of the media whose sidecars changed',
        },
      }),
      400: apiError,
    },
  },
  'GET /play/*': {
    summary: 'Play a stored recording from any store',
    description:
      'HLS playlists (segment URIs beside them, carrying the request’s signature) and MP4, FLV, AAC files with ' +
      'byte ranges. On MinIO every byte is proxied, so the bucket stays private. With playback.key set, the ' +
      'URL must be signed (Tencent VOD key hotlink format): 403 otherwise.',
    tags: ['playback'],
    params: object({ key: { ...string, description: 'app/file, e.g. live/stream1_2026-…_2026-….m3u8' } }),
    querystring: object(signature),
    response: {
      200: { description: 'the media', type: 'string', format: 'binary' },
      206: { description: 'the range asked for', type: 'string', format: 'binary' },
      403: error,
      404: error,
      416: error,
    },
  },
  'GET /healthz': {
    summary: 'Liveness',
    tags: ['health'],
    security: [],
    response: { 200: object({ status: string }) },
  },
  'GET /readyz': {
    summary: 'Readiness: 503 while starting, stopping, draining or full',
    tags: ['health'],
    security: [],
    response: {
      200: object({ status: string, storage: object({ ok: { type: 'boolean' }, error: string }) }),
      503: object({ status: string }),
    },
  },
  'GET /api/openapi.json': { summary: 'This document', tags: ['api'] },
  'GET /api/streams': {
    summary: 'Live and interrupted recordings, on this node and (in a cluster) the others',
    tags: ['streams'],
    response: { 200: object({ streams: { type: 'array', items: stream } }) },
  },
  'GET /api/cluster': {
    summary: 'Every node, whether it lives, and its open recordings, uploads and pushes',
    tags: ['cluster'],
    response: {
      200: object({
        mode: { type: 'string', enum: ['single', 'cluster'] },
        node: string,
        nodes: {
          type: 'array',
          items: object({
            node: string,
            alive: { type: 'boolean' },
            items: { type: 'array', items: object({}) },
          }),
        },
      }),
    },
  },
  'POST /api/drain': {
    summary: 'Take no new publish; stop once the live ones end or the timeout passes (admin)',
    tags: ['cluster'],
    body: object({ timeoutSeconds: integer }),
    response: {
      202: object({ status: string, node: string, live: integer, timeoutSeconds: integer }),
      400: apiError,
    },
  },
  'GET /api/callbacks/dead': {
    summary: 'Callbacks that were never delivered (dead letters)',
    tags: ['callbacks'],
    response: {
      200: object({
        dead: {
          type: 'array',
          items: callback,
        },
      }),
    },
  },
  'GET /api/callbacks/pending': {
    summary: 'Callbacks not delivered yet, being retried',
    tags: ['callbacks'],
    response: {
      200: object({
        pending: {
          type: 'array',
          items: callback,
        },
      }),
    },
  },
  'GET /api/templates': {
    summary: 'Recording templates (Tencent RecordTemplateInfo), read-only: the Tencent actions change them',
    tags: ['setup'],
    response: {
      200: object({
        templates: { type: 'array', items: object({ TemplateId: integer, TemplateName: string }) },
      }),
    },
  },
  'GET /api/rules': {
    summary: 'Recording rules: which streams a template records',
    tags: ['setup'],
    response: {
      200: object({
        rules: {
          type: 'array',
          items: object({
            DomainName: string,
            AppName: string,
            StreamName: string,
            TemplateId: integer,
            createdAt: time,
            updatedAt: time,
          }),
        },
      }),
    },
  },
  'GET /api/tasks': {
    summary: 'On-demand recording tasks (CreateRecordTask), read-only',
    tags: ['setup'],
    response: {
      200: object({
        tasks: {
          type: 'array',
          items: object({
            taskId: string,
            domainName: string,
            appName: string,
            streamName: string,
            startTime: time,
            endTime: time,
            streamType: integer,
            templateId: nullable(integer),
            state: { type: 'string', enum: ['scheduled', 'stopped', 'ended'] },
          }),
        },
      }),
    },
  },
  'POST /api/callbacks/dead/:id/redeliver': {
    summary: 'Send a dead callback again (admin)',
    tags: ['callbacks'],
    params: object({ id: string }, ['id']),
    response: { 200: object({ id: string, state: string }), 404: apiError },
  },
  'GET /api/media/expiry': {
    summary: 'When a media expires',
    tags: ['recordings'],
    querystring: object({ key: string }, ['key']),
    response: {
      200: object({ key: string, keys: { type: 'array', items: string }, expiresAt: nullable(string) }),
    },
  },
  'PUT /api/media/expiry': {
    summary: 'Move a media’s expiry, or pin it with null (admin)',
    tags: ['recordings'],
    body: object({ key: string, expiresAt: nullable({ ...string, format: 'date-time' }) }, [
      'key',
      'expiresAt',
    ]),
    response: {
      200: object({ key: string, keys: { type: 'array', items: string }, expiresAt: nullable(string) }),
    },
  },
  'GET /api/recordings': {
    summary:
      'Stored recordings, sorted and paged by cursor (keyset): as deep as the index goes, no 5,000 cap',
    tags: ['recordings'],
    querystring: object({
      prefix: { ...string, description: 'start of the storage key: live/, live/stream1' },
      from: { ...string, description: 'start time at or after: ISO 8601 with a zone, or Unix seconds' },
      to: { ...string, description: 'start time before; later than from' },
      format: { type: 'string', enum: ['hls', 'mp4', 'flv', 'aac'] },
      sort: { type: 'string', enum: ['start', 'duration', 'size'], default: 'start' },
      order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
      limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      cursor: { ...string, description: 'the next of the page before, unchanged' },
    }),
    response: {
      200: object({ recordings: { type: 'array', items: recording }, next: nullable(string) }),
      400: apiError,
    },
  },
  'GET /api/recordings/:fileId': {
    summary: 'One recording',
    tags: ['recordings'],
    params: object({ fileId: string }, ['fileId']),
    response: {
      200: {
        ...recording,
        properties: {
          ...(recording.properties as object),
          announcement: nullable({
            type: 'object',
            description: 'the event 100 body that announced it, without t, sign and event_id',
          }),
          timeline: nullable({
            ...object({
              eventsUrl: nullable(string),
              danmakuUrl: nullable(string),
              chaptersUrl: nullable(string),
              markers: {
                type: 'array',
                items: object({ id: string, label: string, seconds: { type: 'number' } }),
              },
              messages: integer,
              products: integer,
            }),
            description:
              'its markers and room events (sidecars beside it); null when none fell in its window',
          }),
        },
      },
      404: apiError,
    },
  },
  'DELETE /api/recordings/:fileId': {
    summary:
      'Delete a recording: every object of it (an HLS playlist’s segments too), then its index entry (admin)',
    tags: ['recordings'],
    params: object({ fileId: string }, ['fileId']),
    response: { 200: object({ fileId: string, deleted: { type: 'boolean' } }), 404: apiError, 409: apiError },
  },
  'GET /api/mixes': {
    summary: 'Open mix sessions, from CreateCommonMixStream and automatic room mixes',
    tags: ['mix'],
    response: { 200: object({ mixes: { type: 'array', items: object({}) } }) },
  },
};

/** The document of a route, or undefined when it is not one to describe (the raw file routes, HEAD). */
export function openApiOperation(method: string, url: string): OperationDoc | undefined {
  return DOCS[`${method} ${url}`];
}

/** Every route the document describes, as `METHOD url`. */
export function documentedRoutes(): string[] {
  return Object.keys(DOCS);
}
