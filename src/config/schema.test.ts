import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.js';
import { parseConfig } from './load.js';
import { minioVideoUrl } from './schema.js';

const MIB = 1024 * 1024;
const minio = {
  type: 'minio',
  endPoint: '127.0.0.1',
  accessKey: 'a',
  secretKey: 'b',
  bucket: 'rec',
} as const;

describe('record.maxBufferedBytes', () => {
  it('defaults to 64 MiB', () => {
    expect(parseConfig({}).record.maxBufferedBytes).toBe(64 * MIB);
  });

  it.each([MIB, 2 * MIB, 1024 * MIB])('takes %i', (bytes) => {
    expect(parseConfig({ record: { maxBufferedBytes: bytes } }).record.maxBufferedBytes).toBe(bytes);
  });

  it.each([MIB - 1, 1024 * MIB + 1, MIB + 0.5, -1])('refuses %d', (bytes) => {
    expect(() => parseConfig({ record: { maxBufferedBytes: bytes } })).toThrow(ConfigError);
    expect(() => parseConfig({ record: { maxBufferedBytes: bytes } })).toThrow(
      /record\.maxBufferedBytes.*must be an integer in 1048576\.\.1073741824/,
    );
  });
});

describe('mix', () => {
  it('defaults to the app live and the x264 preset veryfast', () => {
    expect(parseConfig({}).mix).toMatchObject({
      app: 'live',
      x264Preset: 'veryfast',
      auto: { enabled: false },
    });
  });

  it('refuses an unknown preset and a bad app, naming the key and what it takes', () => {
    expect(() => parseConfig({ mix: { x264Preset: 'placebo' } as never })).toThrow(
      /mix\.x264Preset.*must be one of ultrafast, superfast, veryfast, faster, fast, medium/,
    );
    expect(() => parseConfig({ mix: { app: 'a/b' } })).toThrow(/mix\.app.*1\.\.80 letters/);
  });
});

describe('mix.auto', () => {
  it('refuses a pattern without the room groups, and a template that needs a canvas', () => {
    expect(() => parseConfig({ mix: { auto: { pattern: '^(\\d+)_(\\d+)$' } } })).toThrow(
      /mix\.auto\.pattern.*\(\?<app>\.\.\.\) and \(\?<room>\.\.\.\) groups/,
    );
    expect(() => parseConfig({ mix: { auto: { pattern: '(?<app>' } } })).toThrow(/mix\.auto\.pattern/);
    expect(() => parseConfig({ mix: { auto: { template: 390 as never } } })).toThrow(/mix\.auto\.template/);
    expect(() => parseConfig({ mix: { auto: { minInputs: 17 } } })).toThrow(/mix\.auto\.minInputs/);
  });
});

describe('cluster', () => {
  it('is off by default: no Redis, a node id from the host name, the default lease', () => {
    const { cluster } = parseConfig({});
    expect(cluster.redis).toBeUndefined();
    expect(cluster.nodeId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(cluster).toMatchObject({ keyPrefix: 'recorder:', leaseSeconds: 15, heartbeatSeconds: 5 });
  });

  it.each(['redis://127.0.0.1:6379', 'rediss://:secret@redis.example:6380/2'])(
    'takes %s with MinIO storage',
    (url) => {
      expect(parseConfig({ storage: minio, cluster: { redis: url } }).cluster.redis).toBe(url);
    },
  );

  it('refuses Redis without MinIO storage, naming storage.type', () => {
    expect(() => parseConfig({ cluster: { redis: 'redis://127.0.0.1:6379' } })).toThrow(
      /storage\.type = \(missing\): must be minio when cluster\.redis is set/,
    );
  });

  it('refuses a URL that is not Redis, a bad node id and a heartbeat too slow for the lease', () => {
    expect(() => parseConfig({ storage: minio, cluster: { redis: 'http://127.0.0.1:6379' } })).toThrow(
      /cluster\.redis.*must be a redis:\/\/ or rediss:\/\/ URL/,
    );
    expect(() => parseConfig({ cluster: { nodeId: 'a b' } })).toThrow(/cluster\.nodeId.*1\.\.64 characters/);
    expect(() => parseConfig({ cluster: { leaseSeconds: 10, heartbeatSeconds: 6 } })).toThrow(
      /cluster\.heartbeatSeconds = 6: must be at most half of cluster\.leaseSeconds \(10\)/,
    );
  });
});

describe('playback and storage.videoUrl', () => {
  it('signs nothing by default; a signed video_url lives 7 days', () => {
    expect(parseConfig({}).playback).toEqual({ urlTtlSeconds: 604_800 });
  });

  it.each(['short', 'has-a-dash-in-it', 'x'.repeat(21)])('refuses the key %s, naming playback.key', (key) => {
    expect(() => parseConfig({ playback: { key } })).toThrow(/playback\.key.*8\.\.20 letters or digits/);
  });

  it.each([
    [{}, {}, 'presigned'],
    [{ publicBaseUrl: 'https://cdn.example.com' }, {}, 'public'],
    [{}, { key: 'Abcdefgh12' }, 'playback'],
    [{ videoUrl: 'playback' }, {}, 'playback'],
  ] as const)('storage %j with playback %j: video_url is %s', (storage, playback, expected) => {
    const config = parseConfig({ storage: { ...minio, ...storage }, playback });
    expect(minioVideoUrl(config.storage as never, config.playback)).toBe(expected);
  });

  it('refuses a bucket URL with signing on, and public without a base, naming storage.videoUrl', () => {
    expect(() =>
      parseConfig({ storage: { ...minio, videoUrl: 'presigned' }, playback: { key: 'Abcdefgh12' } }),
    ).toThrow(/storage\.videoUrl.*must be playback when playback\.key is set/);
    expect(() =>
      parseConfig({
        storage: { ...minio, publicBaseUrl: 'https://cdn.example.com' },
        playback: { key: 'Abcdefgh12' },
      }),
    ).toThrow(/storage\.videoUrl.*must be playback/);
    expect(() => parseConfig({ storage: { ...minio, videoUrl: 'public' } })).toThrow(
      /storage\.videoUrl.*without storage\.publicBaseUrl/,
    );
    expect(() => parseConfig({ storage: { ...minio, videoUrl: 'cdn' as never } })).toThrow(
      /storage\.videoUrl.*playback, presigned or public/,
    );
  });
});
