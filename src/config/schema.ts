import { hostname } from 'node:os';
import { z } from 'zod';
import { TENCENT_RETRY_POLICY } from '../shared/backoff.js';

/** Tencent's default recording file name (CSS/TRTC `fileNameTemplate`). */
export const DEFAULT_FILE_NAME_TEMPLATE =
  '{StreamID}_{StartYear}-{StartMonth}-{StartDay}-{StartHour}-{StartMinute}-{StartSecond}_{EndYear}-{EndMonth}-{EndDay}-{EndHour}-{EndMinute}-{EndSecond}';

export const RECORD_FORMATS = ['hls', 'flv', 'mp4', 'aac'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];
/** What writes a recording's work files: one ffmpeg per run, or the native muxer in process (HLS TS, FLV, AAC). */
export const RECORD_ENGINES = ['ffmpeg', 'native'] as const;
export type RecordEngine = (typeof RECORD_ENGINES)[number];

/** Placeholders a file name template may use. */
export const NAME_PLACEHOLDERS = [
  'StreamID',
  ...(['Start', 'End'] as const).flatMap((side) =>
    ['Year', 'Month', 'Day', 'Hour', 'Minute', 'Second', 'Millisecond'].map((unit) => `${side}${unit}`),
  ),
] as const;

function intIn(min: number, max: number) {
  const range = `an integer in ${min}..${max}`;
  return z
    .number({ error: `must be ${range}` })
    .int({ error: `must be ${range}` })
    .min(min, { error: `must be ${range}` })
    .max(max, { error: `must be ${range}` });
}

function numberIn(min: number, max: number) {
  const range = `a number in ${min}..${max}`;
  return z
    .number({ error: `must be ${range}` })
    .min(min, { error: `must be ${range}` })
    .max(max, { error: `must be ${range}` });
}

const nonEmpty = z
  .string({ error: 'must be a non-empty string' })
  .min(1, { error: 'must be a non-empty string' });

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const fileNameTemplate = nonEmpty
  .refine((t) => !/[/\\\0]/.test(t), { error: 'must not contain "/", "\\" or NUL' })
  .refine((t) => t.includes('{StreamID}'), { error: 'must contain {StreamID}' })
  .refine(
    (t) =>
      [...t.matchAll(/\{([^}]*)\}/g)].every((m) => (NAME_PLACEHOLDERS as readonly string[]).includes(m[1]!)),
    { error: `may only use the placeholders ${NAME_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}` },
  );

const MIB = 1024 * 1024;

/** The host name, as a node id may be spelled (other characters become "-"). */
function defaultNodeId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 64) || 'node'
  );
}

/** Whether a room pattern compiles and names the groups a room needs. */
function isRoomPattern(source: string): boolean {
  try {
    return /\(\?<app>/.test(source) && /\(\?<room>/.test(source) && new RegExp(source) instanceof RegExp;
  } catch {
    return false;
  }
}
const SSE_C_KEY_BYTES = 32;

/** S3 bucket naming rules (3..63 lower-case letters, digits, dots, hyphens). */
const bucketName = z.string({ error: 'must be a bucket name' }).regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
  error: 'must be 3..63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit',
});

const minioStorage = z.strictObject({
  type: z.literal('minio'),
  endPoint: nonEmpty,
  port: intIn(1, 65535).optional(),
  useSSL: z.boolean({ error: 'must be true or false' }).default(false),
  /** PEM file of a CA to trust for a self-signed server certificate. */
  caFile: nonEmpty.optional(),
  accessKey: nonEmpty,
  secretKey: nonEmpty,
  // Temporary (STS) credentials come with a session token.
  sessionToken: nonEmpty.optional(),
  bucket: bucketName,
  region: nonEmpty.default('us-east-1'),
  // Key prefix inside the bucket, e.g. "recordings/"; keys are then prefix + app/file.
  prefix: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, { error: 'must be empty or path segments each ending in "/"' })
    .default(''),
  // Set for a CDN or public bucket: video_url = publicBaseUrl + key.
  publicBaseUrl: httpUrl.optional(),
  // What video_url points at: `playback` (the recorder's /play/ route, which proxies the bucket, HLS included),
  // `presigned` (a presigned GET of the object itself) or `public` (publicBaseUrl + key). Unset: public when
  // publicBaseUrl is set, else playback when playback.key is set, else presigned.
  videoUrl: z
    .enum(['playback', 'presigned', 'public'], { error: 'must be playback, presigned or public' })
    .optional(),
  presignSeconds: intIn(1, 604800).default(604800),
  // Bounded parts: memory per upload is one part.
  partSize: intIn(5 * MIB, 512 * MIB).default(8 * MIB),
  concurrency: intIn(1, 64).default(4),
  sse: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('SSE-S3') }),
      z.strictObject({
        type: z.literal('SSE-C'),
        key: z.string().refine((k) => Buffer.from(k, 'base64').length === SSE_C_KEY_BYTES, {
          error: `must be a base64 ${SSE_C_KEY_BYTES}-byte key`,
        }),
      }),
    ])
    .optional(),
  objectLock: z
    .strictObject({
      mode: z.enum(['GOVERNANCE', 'COMPLIANCE'], { error: 'must be GOVERNANCE or COMPLIANCE' }),
    })
    .optional(),
});

const listen = (defaultPort: number) =>
  z.strictObject({
    host: nonEmpty.default('0.0.0.0'),
    port: intIn(0, 65535).default(defaultPort),
  });

export const configSchema = z
  .strictObject({
    rtmp: listen(1935).prefault({}),
    http: z
      .strictObject({
        host: nonEmpty.default('0.0.0.0'),
        port: intIn(0, 65535).default(8080),
        // Unset: http://127.0.0.1:<the bound HTTP port>.
        publicBaseUrl: httpUrl.optional(),
        // Largest request body of the /api/ routes (413 beyond); the Tencent API on `POST /` takes 10 MB.
        bodyLimitBytes: intIn(1024, 10 * MIB).default(64 * 1024),
        // Cross-origin pages (a business server's own player) allowed on every route, preflight included:
        // `*`, or a list of origins such as https://app.example.com. Unset: none.
        cors: z
          .strictObject({
            origins: z.union([
              z.literal('*'),
              z.array(
                z.string().regex(/^https?:\/\/[^/\s?#]+$/, {
                  error: 'must be an origin: http(s)://host[:port], no path',
                }),
                { error: 'must be "*" or a list of origins' },
              ),
            ]),
          })
          .optional(),
      })
      .prefault({}),
    api: z
      .strictObject({
        // Bearer token for /api/ routes; unset: they answer loopback clients only.
        adminToken: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
        // Named bearer tokens: `viewer` lists and plays, `admin` also changes; the name is who did it, in logs.
        tokens: z
          .array(
            z.strictObject({
              name: z
                .string()
                .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1..64 of A-Z a-z 0-9 . _ -' }),
              token: z.string().min(16, { error: 'must be at least 16 characters' }),
              role: z.enum(['admin', 'viewer'], { error: 'must be admin or viewer' }),
            }),
          )
          .default([])
          .refine((list) => new Set(list.map((t) => t.name)).size === list.length, {
            error: 'names must be unique',
          })
          .refine((list) => new Set(list.map((t) => t.token)).size === list.length, {
            error: 'tokens must be unique',
          }),
        // Tencent API v3 (TC3-HMAC-SHA256) credentials accepted on `POST /`.
        credentials: z
          .array(z.strictObject({ secretId: nonEmpty, secretKey: nonEmpty }), {
            error: 'must be a list of {secretId, secretKey}',
          })
          .default([]),
      })
      .prefault({}),
    auth: z
      .strictObject({
        // Tencent push authentication: txSecret = md5(key + StreamName + txTime).
        publish: z
          .strictObject({
            enabled: z.boolean({ error: 'must be true or false' }).default(false),
            key: z.string().default(''),
            backupKey: z.string().default(''),
          })
          .prefault({}),
      })
      .prefault({}),
    console: z
      .strictObject({
        // The web console under /console/ (its routes need the same tokens as /api/).
        enabled: z.boolean({ error: 'must be true or false' }).default(true),
        // How long a console login lasts.
        sessionHours: intIn(1, 720).default(12),
      })
      .prefault({}),
    audit: z
      .strictObject({
        // The tamper-evident audit trail (a hash chain per node) of every operation on recordings and the service.
        enabled: z.boolean({ error: 'must be true or false' }).default(true),
        anchor: z
          .strictObject({
            // How often the chain's head (seq and hash) is written out; 0: never.
            intervalSeconds: intIn(0, 86_400).default(3600),
            // `log`: an `audit anchor` log line; `storage`: an object audit-anchors/<node>/<time>.json in the store
            // (under object lock when storage.objectLock is set: a WORM copy the chain can be checked against).
            sink: z.enum(['log', 'storage'], { error: 'must be log or storage' }).default('log'),
            // Days an anchor object is kept (and locked); 0: forever.
            retentionDays: intIn(0, 36_500).default(0),
          })
          .prefault({}),
      })
      .prefault({}),
    im: z
      .strictObject({
        // The IM app (SdkAppid) whose webhooks POST /im/callback takes; unset: any.
        sdkAppId: z
          .number({ error: 'must be an IM SDKAppID' })
          .int({ error: 'must be an IM SDKAppID' })
          .min(1, { error: 'must be an IM SDKAppID' })
          .optional(),
        // IM's webhook authentication token (Sign = sha256(token + RequestTime)); unset: unsigned webhooks.
        callbackToken: z
          .string()
          .min(1, { error: 'must be 1..128 characters' })
          .max(128, { error: 'must be 1..128 characters' })
          .optional(),
        // The app-defined group field whose changes are product pushes.
        productField: z
          .string()
          .regex(/^[A-Za-z0-9_]{1,32}$/, { error: 'must be 1..32 letters, digits or _' })
          .default('product'),
        // GroupId → the streams its events belong to: `app/stream` or `stream`, `*` for any characters.
        groups: z
          .record(
            z.string().min(1, { error: 'must be a GroupId' }).max(128, { error: 'must be a GroupId' }),
            z
              .array(
                z
                  .string()
                  .regex(/^[A-Za-z0-9_.~%*/-]{1,200}$/, { error: 'must be a stream name or pattern' }),
                {
                  error: 'must be a list of stream names or patterns',
                },
              )
              .min(1, { error: 'must list at least one stream' }),
          )
          .default({}),
        // A TRTC room's group (GroupId = roomId) holds the room's streams (mix.auto.pattern) and its mix output.
        roomGroups: z.boolean({ error: 'must be true or false' }).default(true),
      })
      .prefault({}),
    playback: z
      .strictObject({
        // Tencent VOD's hotlink key (8..20 letters or digits): every media route then wants a signed URL.
        key: z
          .string()
          .regex(/^[A-Za-z0-9]{8,20}$/, {
            error: 'must be 8..20 letters or digits (Tencent VOD hotlink key)',
          })
          .optional(),
        // How long the signed video_url of event 100 and DescribeMediaInfos stays valid.
        urlTtlSeconds: intIn(60, 31_536_000).default(604_800),
      })
      .prefault({}),
    dataDir: nonEmpty.default('./data'),
    ffmpegPath: nonEmpty.optional(),
    mix: z
      .strictObject({
        // The app of a CreateCommonMixStream input named without one (`stream` rather than `app/stream`).
        app: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,80}$/, { error: 'must be 1..80 letters, digits, _ or -' })
          .default('live'),
        // libx264's preset for a mix's encode: faster presets cost less CPU per mix and more bitrate per quality.
        x264Preset: z
          .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'], {
            error: 'must be one of ultrafast, superfast, veryfast, faster, fast, medium',
          })
          .default('veryfast'),
        // Mixes per room with no API call, from TRTC's stream ids (SDKAppID_roomId_userId_main|aux).
        auto: z
          .strictObject({
            enabled: z.boolean({ error: 'must be true or false' }).default(false),
            // A regular expression over stream names with the named groups `app` (the SDKAppID) and `room`.
            pattern: z
              .string()
              .refine(isRoomPattern, {
                error: 'must be a regular expression with (?<app>...) and (?<room>...) groups',
              })
              .default('^(?<app>\\d+)_(?<room>\\d+)_(?<user>.+)_(?<kind>main|aux)$'),
            // `grid` (a grid that fits the count), or a preset id (10, 30, 40, 310, 390, 410, 510, 610).
            template: z
              .union(
                [
                  z.literal('grid'),
                  z.literal(10),
                  z.literal(30),
                  z.literal(40),
                  z.literal(310),
                  z.literal(410),
                  z.literal(510),
                  z.literal(610),
                ],
                {
                  error: 'must be grid or one of 10, 30, 40, 310, 410, 510, 610',
                },
              )
              .default('grid'),
            output: z
              .string()
              .regex(/^[A-Za-z0-9_{}-]{1,80}$/, { error: 'must be a stream name with {sdkappid} and {room}' })
              .default('{sdkappid}_{room}_mix'),
            minInputs: intIn(1, 16).default(2),
            // Like TRTC's MaxIdleTime: the mix ends this long after its last input left.
            idleSeconds: intIn(0, 86400).default(30),
            width: intIn(2, 3000).default(1280),
            height: intIn(2, 3000).default(720),
            frameRate: intIn(1, 60).default(15),
            // Unset: about 0.1 bit per pixel per frame, as for CreateCommonMixStream.
            videoBitrateKbps: intIn(1, 50000).optional(),
            audioBitrateKbps: intIn(1, 500).default(64),
          })
          .prefault({}),
      })
      .prefault({}),
    record: z
      .strictObject({
        formats: z
          .array(z.enum(RECORD_FORMATS, { error: `must be one of ${RECORD_FORMATS.join(', ')}` }), {
            error: `must be a list of ${RECORD_FORMATS.join(', ')}`,
          })
          .min(1, { error: `must list at least one of ${RECORD_FORMATS.join(', ')}` })
          .refine((list) => new Set(list).size === list.length, { error: 'must not repeat a format' })
          .default(['hls']),
        // native: hls, flv and aac of H.264/HEVC with AAC/MP3 are muxed in process, without an ffmpeg per stream;
        // ffmpeg writes the run's other formats (MP4), or all of a run with other codecs. It still finalizes and mixes.
        engine: z
          .enum(RECORD_ENGINES, { error: `must be one of ${RECORD_ENGINES.join(', ')}` })
          .default('ffmpeg'),
        maxFileDurationSeconds: intIn(10, 7200).default(1800),
        hlsResumeTimeoutSeconds: intIn(0, 1800).default(0),
        hlsSegmentSeconds: intIn(1, 60).default(4),
        // Bytes held for one ffmpeg that is not taking its input; past it the run is failed, not left to eat memory.
        maxBufferedBytes: intIn(MIB, 1024 * MIB).default(64 * MIB),
        // Free space kept in dataDir: below it publishes are refused and recordings cut while files can still close.
        minFreeBytes: intIn(0, 1024 * 1024 * MIB).default(256 * MIB),
        fileNameTemplate: fileNameTemplate.default(DEFAULT_FILE_NAME_TEMPLATE),
        // Tencent StorageTime ("file save days"): 0 keeps files forever.
        storageDays: intIn(0, 1080).default(0),
        timeZone: nonEmpty
          .refine(isValidTimeZone, { error: 'must be an IANA time zone name, e.g. Asia/Shanghai' })
          .default(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
        // false: only streams a recording rule (or task) selects are recorded; others are accepted, not recorded.
        auto: z.boolean({ error: 'must be true or false' }).default(true),
        // Made after a file is stored, in a queue of their own: a cover (the first keyframe) and a sprite of scrub
        // thumbnails every intervalSeconds (0: no sprite), with its WebVTT.
        thumbnails: z
          .strictObject({
            intervalSeconds: intIn(0, 3600).default(10),
            concurrency: intIn(1, 16).default(1),
          })
          .prefault({}),
        // Media time repaired at the ingest, per publish: resets, unconfirmed forward jumps, 32-bit wraps, drift.
        timestamps: z
          .strictObject({
            repair: z.boolean({ error: 'must be true or false' }).default(true),
            // A dts going back by more than this is a reset (jitter and B-frame reordering stay far below it).
            maxBackwardStepMs: intIn(1, 60_000).default(100),
            // A dts advancing by more than the arrival gap plus this is a jump; a real pause is not one.
            maxForwardJumpMs: intIn(100, 3_600_000).default(5_000),
            // Audio drifting from video by more than this is slewed back, 1 ms per packet; 0 turns that off.
            maxDriftMs: intIn(0, 10_000).default(40),
          })
          .prefault({}),
      })
      .prefault({}),
    storage: z
      .discriminatedUnion('type', [z.strictObject({ type: z.literal('local') }), minioStorage])
      .prefault({ type: 'local' }),
    callback: z
      .strictObject({
        // Sets every *NotifyUrl below that is not set itself.
        url: httpUrl.optional(),
        StreamBeginNotifyUrl: httpUrl.optional(),
        StreamEndNotifyUrl: httpUrl.optional(),
        RecordNotifyUrl: httpUrl.optional(),
        RecordStatusNotifyUrl: httpUrl.optional(),
        key: z.string().default(''),
        appid: intIn(0, 2 ** 53 - 1).default(0),
        domain: nonEmpty.optional(),
        // Tencent's policy: retries every minute, 12 times (13 attempts with the first, a 12-minute window), 20 s to answer.
        retryIntervalSeconds: numberIn(0.05, 3600).default(60),
        maxAttempts: intIn(1, 1000).default(TENCENT_RETRY_POLICY.maxAttempts),
        timeoutSeconds: numberIn(0.1, 120).default(20),
      })
      .prefault({}),
    // Several nodes as one service: state on Redis, files on MinIO. Unset redis: one node, state in dataDir.
    log: z
      .strictObject({
        // Unset: LOG_LEVEL, else info.
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
            error: 'must be fatal, error, warn, info, debug, trace or silent',
          })
          .optional(),
        // Unset: pretty when stdout is a terminal, JSON lines otherwise.
        format: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).optional(),
      })
      .prefault({}),
    cluster: z
      .strictObject({
        // redis://[user:password@]host:port[/db], or rediss:// for TLS.
        redis: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
        // PEM file of the CA that signed the Redis server's certificate (rediss:// with a private CA).
        tlsCaFile: nonEmpty.optional(),
        nodeId: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, {
            error: 'must be 1..64 characters of A-Z, a-z, 0-9, ".", "_" and "-"',
          })
          .default(defaultNodeId()),
        // How other nodes and the balancer reach this node (host or host:port); the `node` of events 1 and 0.
        advertise: nonEmpty.optional(),
        // Every key this recorder writes starts with this, so clusters may share one Redis.
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9:._-]{1,64}$/, {
            error: 'must be 1..64 characters of A-Z, a-z, 0-9, ":", ".", "_" and "-"',
          })
          .default('recorder:'),
        // A node's claim on a stream or a job lapses this long after its last heartbeat.
        leaseSeconds: intIn(2, 300).default(15),
        heartbeatSeconds: intIn(1, 100).default(5),
        // Live pushes this node takes; at it, /readyz fails (503) and a push is refused. 0: no limit.
        maxSlots: intIn(0, 100_000).default(0),
        // On SIGTERM: how long the node, its /readyz failing and new pushes refused, waits for its pushes to end
        // before it finishes what is left. 0: it finishes at once.
        drainSeconds: intIn(0, 86_400).default(0),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const { cluster } = config;
    if (cluster.redis && config.storage.type !== 'minio') {
      ctx.addIssue({
        code: 'custom',
        path: ['storage', 'type'],
        input: config.storage.type,
        message: 'must be minio when cluster.redis is set (the nodes share their files through MinIO)',
      });
    }
    if (cluster.heartbeatSeconds * 2 > cluster.leaseSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['cluster', 'heartbeatSeconds'],
        input: cluster.heartbeatSeconds,
        message: `must be at most half of cluster.leaseSeconds (${cluster.leaseSeconds}), so one lost heartbeat does not lose a claim`,
      });
    }
    const { storage, record } = config;
    if (storage.type === 'minio' && storage.objectLock && record.storageDays === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['record', 'storageDays'],
        input: record.storageDays,
        message: 'must be in 1..1080 when storage.objectLock is set (objects are locked until they expire)',
      });
    }
    if (config.auth.publish.enabled && !config.auth.publish.key && !config.auth.publish.backupKey) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'publish', 'key'],
        input: config.auth.publish.key,
        message: 'must be set when auth.publish.enabled is true',
      });
    }
    if (storage.type === 'minio' && storage.videoUrl === 'public' && !storage.publicBaseUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['storage', 'videoUrl'],
        input: storage.videoUrl,
        message: 'must not be public without storage.publicBaseUrl (the base the URLs are made from)',
      });
    }
    if (
      storage.type === 'minio' &&
      config.playback.key &&
      minioVideoUrl(storage, config.playback) !== 'playback'
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['storage', 'videoUrl'],
        input: minioVideoUrl(storage, config.playback),
        message:
          'must be playback when playback.key is set (a presigned or public bucket URL cannot carry the signature)',
      });
    }
    if (storage.type === 'minio' && storage.sse?.type === 'SSE-C' && !storage.useSSL) {
      ctx.addIssue({
        code: 'custom',
        path: ['storage', 'useSSL'],
        input: storage.useSSL,
        message: 'must be true with SSE-C (servers take customer keys only over TLS)',
      });
    }
  });

/** What video_url of MinIO media points at, with storage.videoUrl's default applied. */
export function minioVideoUrl(
  storage: { videoUrl?: 'playback' | 'presigned' | 'public' | undefined; publicBaseUrl?: string | undefined },
  playback: { key?: string | undefined },
): 'playback' | 'presigned' | 'public' {
  return storage.videoUrl ?? (storage.publicBaseUrl ? 'public' : playback.key ? 'playback' : 'presigned');
}

/** Configuration as written in a file: every key optional. */
export type ConfigInput = z.input<typeof configSchema>;
/** Validated configuration with every default filled in. */
export type Config = z.output<typeof configSchema>;
/**
 * What one recording records: the config's `record` section, or that section with a Tencent template applied.
 * The optional fields come only from a template; without them every format uses the config-wide value.
 */
export type RecordConfig = Config['record'] & {
  /** TemplateId of the Tencent template applied; unset for the config's own (default) template. */
  templateId?: number;
  /** Split length in seconds per format (RecordInterval); a missing format uses maxFileDurationSeconds. */
  intervals?: Readonly<Partial<Record<RecordFormat, number>>>;
  /** Retention in days per format (StorageTime, rounded up; 0 = forever); a missing format uses storageDays. */
  retentionDays?: Readonly<Partial<Record<RecordFormat, number>>>;
};
export type CallbackConfig = Config['callback'];
export type MixConfig = Config['mix'];
export type ClusterConfig = Config['cluster'];
export type StorageConfig = Config['storage'];
export type PlaybackConfig = Config['playback'];
export type MinioStorageConfig = Extract<StorageConfig, { type: 'minio' }>;
