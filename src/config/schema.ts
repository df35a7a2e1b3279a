import { z } from 'zod';

/** Tencent's default recording file name (CSS/TRTC `fileNameTemplate`). */
export const DEFAULT_FILE_NAME_TEMPLATE =
  '{StreamID}_{StartYear}-{StartMonth}-{StartDay}-{StartHour}-{StartMinute}-{StartSecond}_{EndYear}-{EndMonth}-{EndDay}-{EndHour}-{EndMinute}-{EndSecond}';

export const RECORD_FORMATS = ['hls', 'flv', 'mp4', 'aac'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

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

const listen = (defaultPort: number) =>
  z.strictObject({
    host: nonEmpty.default('0.0.0.0'),
    port: intIn(0, 65535).default(defaultPort),
  });

export const configSchema = z.strictObject({
  rtmp: listen(1935).prefault({}),
  http: z
    .strictObject({
      host: nonEmpty.default('0.0.0.0'),
      port: intIn(0, 65535).default(8080),
      // Unset: http://127.0.0.1:<the bound HTTP port>.
      publicBaseUrl: httpUrl.optional(),
    })
    .prefault({}),
  dataDir: nonEmpty.default('./data'),
  ffmpegPath: nonEmpty.optional(),
  record: z
    .strictObject({
      formats: z
        .array(z.enum(RECORD_FORMATS, { error: `must be one of ${RECORD_FORMATS.join(', ')}` }), {
          error: `must be a list of ${RECORD_FORMATS.join(', ')}`,
        })
        .min(1, { error: `must list at least one of ${RECORD_FORMATS.join(', ')}` })
        .refine((list) => new Set(list).size === list.length, { error: 'must not repeat a format' })
        .default(['hls']),
      maxFileDurationSeconds: intIn(10, 7200).default(1800),
      hlsResumeTimeoutSeconds: intIn(0, 1800).default(0),
      hlsSegmentSeconds: intIn(1, 60).default(4),
      fileNameTemplate: fileNameTemplate.default(DEFAULT_FILE_NAME_TEMPLATE),
      timeZone: nonEmpty
        .refine(isValidTimeZone, { error: 'must be an IANA time zone name, e.g. Asia/Shanghai' })
        .default(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
    })
    .prefault({}),
  storage: z
    .discriminatedUnion('type', [z.strictObject({ type: z.literal('local') })])
    .prefault({ type: 'local' }),
  callback: z
    .strictObject({
      url: httpUrl.optional(),
      key: z.string().default(''),
      appid: intIn(0, 2 ** 53 - 1).default(0),
      domain: nonEmpty.optional(),
      // Tencent's policy: one attempt a minute, 12 attempts, 20 s to answer.
      retryIntervalSeconds: numberIn(0.05, 3600).default(60),
      maxAttempts: intIn(1, 1000).default(12),
      timeoutSeconds: numberIn(0.1, 120).default(20),
    })
    .prefault({}),
});

/** Configuration as written in a file: every key optional. */
export type ConfigInput = z.input<typeof configSchema>;
/** Validated configuration with every default filled in. */
export type Config = z.output<typeof configSchema>;
export type RecordConfig = Config['record'];
export type CallbackConfig = Config['callback'];
