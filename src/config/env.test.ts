import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.js';
import { configFromEnv, envKeys, envOverrides } from './env.js';
import { loadConfig, parseConfig } from './load.js';

const MINIO_FILE = {
  storage: {
    type: 'minio',
    endPoint: 'files.example.com',
    accessKey: 'file-access',
    secretKey: 'file-secret',
    bucket: 'from-file',
  },
};

function valueAt(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], value);
}

function leafPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configFromEnv', () => {
  it.each([
    { name: 'RECORDER_DATADIR', text: '/srv/recordings', path: 'dataDir', want: '/srv/recordings' },
    { name: 'RECORDER_FFMPEGPATH', text: '/usr/bin/ffmpeg', path: 'ffmpegPath', want: '/usr/bin/ffmpeg' },
    { name: 'RECORDER_RTMP__PORT', text: '1936', path: 'rtmp.port', want: 1936 },
    { name: 'RECORDER_HTTP__HOST', text: '127.0.0.1', path: 'http.host', want: '127.0.0.1' },
    {
      name: 'RECORDER_RECORD__MAXFILEDURATIONSECONDS',
      text: '600',
      path: 'record.maxFileDurationSeconds',
      want: 600,
    },
    {
      name: 'recorder_record__maxFileDurationSeconds',
      text: ' 900 ',
      path: 'record.maxFileDurationSeconds',
      want: 900,
    },
    { name: 'RECORDER_RECORD__FORMATS', text: '["hls","mp4"]', path: 'record.formats', want: ['hls', 'mp4'] },
    { name: 'RECORDER_RECORD__FORMATS', text: 'hls, mp4', path: 'record.formats', want: ['hls', 'mp4'] },
    { name: 'RECORDER_RECORD__FORMATS', text: 'flv', path: 'record.formats', want: ['flv'] },
    {
      name: 'RECORDER_CALLBACK__RETRYINTERVALSECONDS',
      text: '0.5',
      path: 'callback.retryIntervalSeconds',
      want: 0.5,
    },
    // A string key keeps digits as text.
    { name: 'RECORDER_CALLBACK__KEY', text: '0123', path: 'callback.key', want: '0123' },
    { name: 'RECORDER_STORAGE__BUCKET', text: 'recordings', path: 'storage.bucket', want: 'recordings' },
    { name: 'RECORDER_STORAGE__ENDPOINT', text: 'minio', path: 'storage.endPoint', want: 'minio' },
    { name: 'RECORDER_STORAGE__PORT', text: '9000', path: 'storage.port', want: 9000 },
    { name: 'RECORDER_STORAGE__USESSL', text: 'true', path: 'storage.useSSL', want: true },
    { name: 'RECORDER_STORAGE__USESSL', text: 'FALSE', path: 'storage.useSSL', want: false },
    { name: 'RECORDER_STORAGE__SSE__TYPE', text: 'SSE-S3', path: 'storage.sse.type', want: 'SSE-S3' },
    {
      name: 'RECORDER_STORAGE__OBJECTLOCK__MODE',
      text: 'GOVERNANCE',
      path: 'storage.objectLock.mode',
      want: 'GOVERNANCE',
      also: { RECORDER_RECORD__STORAGEDAYS: '30' },
    },
  ])('$name=$text sets $path', ({ name, text, path, want, also }) => {
    const raw = configFromEnv({ [name]: text, ...also }, MINIO_FILE);
    expect(valueAt(raw, path)).toEqual(want);
    expect(valueAt(parseConfig(raw), path)).toEqual(want);
  });

  it('wins over the file and leaves the file input as it was', () => {
    const file = { ...MINIO_FILE, rtmp: { port: 1000, host: '127.0.0.1' } };
    const before = structuredClone(file);
    const config = parseConfig(
      configFromEnv({ RECORDER_RTMP__PORT: '2000', RECORDER_STORAGE__BUCKET: 'from-env' }, file),
    );
    expect(config.rtmp).toEqual({ port: 2000, host: '127.0.0.1' });
    expect(config.storage).toMatchObject({ type: 'minio', bucket: 'from-env', accessKey: 'file-access' });
    expect(file).toEqual(before);
  });

  it('builds a whole config from the environment alone, and ignores other variables', () => {
    const config = parseConfig(
      configFromEnv(
        {
          PATH: '/usr/bin',
          RECORDERX: 'not ours',
          RECORDER_STORAGE__TYPE: 'minio',
          RECORDER_STORAGE__ENDPOINT: 'minio',
          RECORDER_STORAGE__ACCESSKEY: 'access',
          RECORDER_STORAGE__SECRETKEY: 'secret',
          RECORDER_STORAGE__BUCKET: 'recordings',
        },
        undefined,
      ),
    );
    expect(config.storage).toMatchObject({ type: 'minio', endPoint: 'minio', bucket: 'recordings' });
    expect(configFromEnv({ PATH: '/usr/bin' }, undefined)).toBeUndefined();
  });
});

describe('environment errors', () => {
  it.each([
    {
      what: 'a misspelt key',
      env: { RECORDER_STORAGE__BUKET: 'recordings' },
      says: ['RECORDER_STORAGE__BUKET: names no config key', 'RECORDER_STORAGE__BUCKET'],
    },
    {
      what: 'a single underscore between segments',
      env: { RECORDER_RECORD_FORMATS: 'hls' },
      says: ['RECORDER_RECORD_FORMATS: names no config key', 'RECORDER_RECORD__FORMATS'],
    },
    {
      what: 'a key without its section',
      env: { RECORDER_BUCKET: 'recordings' },
      says: ['RECORDER_BUCKET: names no config key', 'RECORDER_STORAGE__BUCKET'],
    },
    {
      what: 'a section',
      env: { RECORDER_STORAGE__SSE: 'SSE-S3' },
      says: ['names the section storage.sse', 'RECORDER_STORAGE__SSE__TYPE, RECORDER_STORAGE__SSE__KEY'],
    },
    {
      what: 'a key set twice',
      env: { RECORDER_DATADIR: '/a', recorder_dataDir: '/b' },
      says: ['recorder_dataDir: sets dataDir, which RECORDER_DATADIR sets already'],
    },
    {
      what: 'a broken JSON array',
      env: { RECORDER_RECORD__FORMATS: '["hls",' },
      says: ['RECORDER_RECORD__FORMATS: is not valid JSON'],
    },
  ])('$what is a ConfigError naming the variable', ({ env, says }) => {
    const err = configError(() => configFromEnv(env, {}));
    for (const text of says) expect(err.message).toContain(text);
    expect(err.code).toBe('CONFIG_INVALID');
  });

  it.each([
    {
      what: 'a number out of range',
      env: { RECORDER_RTMP__PORT: '99999' },
      says: 'rtmp.port (env RECORDER_RTMP__PORT) = 99999: must be an integer in 0..65535',
    },
    {
      what: 'text for a number',
      env: { RECORDER_RECORD__MAXFILEDURATIONSECONDS: '10m' },
      says: 'record.maxFileDurationSeconds (env RECORDER_RECORD__MAXFILEDURATIONSECONDS) = "10m": must be an integer in 10..7200',
    },
    {
      what: 'a fraction for an integer',
      env: { RECORDER_HTTP__PORT: '80.5' },
      says: 'http.port (env RECORDER_HTTP__PORT) = 80.5: must be an integer in 0..65535',
    },
    {
      what: 'a boolean that is not true or false',
      env: { RECORDER_STORAGE__USESSL: 'yes' },
      says: 'storage.useSSL (env RECORDER_STORAGE__USESSL) = "yes": must be true or false',
    },
    {
      what: 'an unknown format in a list',
      env: { RECORDER_RECORD__FORMATS: 'hls,mov' },
      says: 'record.formats.1 (env RECORDER_RECORD__FORMATS) = "mov": must be one of hls, flv, mp4, aac',
    },
    {
      what: 'an unknown SSE type',
      env: { RECORDER_STORAGE__SSE__TYPE: 'SSE-KMS' },
      says: 'storage.sse.type (env RECORDER_STORAGE__SSE__TYPE) = "SSE-KMS"',
    },
  ])('$what fails validation naming key, variable and range', ({ env, says }) => {
    // The CLI prints a ConfigError and exits with code 2.
    const err = configError(() => loadConfig({ env: { ...env, ...flatEnv(MINIO_FILE) } }));
    expect(err.message).toContain(says);
  });
});

/** The MINIO_FILE storage as RECORDER_STORAGE__* variables. */
function flatEnv(file: typeof MINIO_FILE): Record<string, string> {
  return Object.fromEntries(
    Object.entries(file.storage).map(([key, value]) => [`RECORDER_STORAGE__${key.toUpperCase()}`, value]),
  );
}

describe('loadConfig', () => {
  it('without a file or variables gives the defaults', () => {
    expect(loadConfig()).toEqual(parseConfig({}));
    expect(loadConfig({ env: { PATH: '/usr/bin' } })).toEqual(parseConfig({}));
  });
});

describe('envKeys', () => {
  const keys = envKeys();

  it('names the keys the way the README says', () => {
    for (const name of [
      'RECORDER_DATADIR',
      'RECORDER_FFMPEGPATH',
      'RECORDER_RTMP__PORT',
      'RECORDER_HTTP__PUBLICBASEURL',
      'RECORDER_RECORD__MAXFILEDURATIONSECONDS',
      'RECORDER_RECORD__STORAGEDAYS',
      'RECORDER_STORAGE__TYPE',
      'RECORDER_STORAGE__ENDPOINT',
      'RECORDER_STORAGE__BUCKET',
      'RECORDER_STORAGE__SSE__TYPE',
      'RECORDER_STORAGE__SSE__KEY',
      'RECORDER_STORAGE__OBJECTLOCK__MODE',
      'RECORDER_CALLBACK__URL',
    ]) {
      expect(keys).toContain(name);
    }
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).not.toContain('RECORDER_STORAGE');
    expect(keys).not.toContain('RECORDER_STORAGE__SSE');
  });

  it('covers every key of a validated config and every name resolves', () => {
    const full = parseConfig({
      http: { publicBaseUrl: 'https://rec.example.com' },
      ffmpegPath: 'ffmpeg',
      callback: { url: 'https://hooks.example.com/', domain: 'live.example.com' },
      record: { storageDays: 7 },
      storage: {
        ...MINIO_FILE.storage,
        port: 9000,
        caFile: 'ca.pem',
        publicBaseUrl: 'https://cdn.example.com/',
        sse: { type: 'SSE-S3' },
        objectLock: { mode: 'GOVERNANCE' },
      },
    });
    const fromConfig = leafPaths(full).map((path) => `RECORDER_${path.toUpperCase().replace(/\./g, '__')}`);
    expect(fromConfig.filter((name) => !keys.includes(name))).toEqual([]);
    for (const name of keys) expect(envOverrides({ [name]: 'x' })).toHaveLength(1);
  });
});
