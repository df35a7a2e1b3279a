import { existsSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaTimeline } from '../../src/media/media-index.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { probe } from '../helpers/media.js';
import { publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = { secretId: 'AKIDrecorderMedia001', secretKey: 'recorder-media-secret-key-001' };
const PUSH_SECONDS = 4;
const STREAM = 'mediaapi1001';

type VodClient = InstanceType<typeof vod.v20180717.Client>;

// An explicit agent: the SDK would otherwise route even 127.0.0.1 through an `http_proxy` from the environment.
const agent = new Agent();
let rec: TestRecorder;
let receiver: CallbackReceiver;
let dataDir: string;
let events: Record<string, unknown>[];
const covers: { hls?: string } = {};

function client(): VodClient {
  return new vod.v20180717.Client({
    credential: KEY,
    region: 'ap-guangzhou',
    profile: {
      httpProfile: { endpoint: `127.0.0.1:${rec.recorder.httpPort}`, protocol: 'http://', agent },
    },
  });
}

async function startOn(dir?: string): Promise<TestRecorder> {
  return startRecorder({
    ...(dir ? { dataDir: dir } : {}),
    record: { formats: ['hls', 'mp4'], hlsSegmentSeconds: 1 },
    callback: { url: receiver.url, key: 'cb-key', appid: 1253001, domain: 'push.example.com' },
    api: { credentials: [KEY] },
  });
}

/** A timeline of the media at key, with two markers. */
function timelineOf(key: string): MediaTimeline {
  return {
    events: `${key}.events.json`,
    danmaku: `${key}.danmaku.vtt`,
    chapters: `${key}.chapters.vtt`,
    markers: [
      { id: 'mk1', label: 'Opening', seconds: 0.5 },
      { id: 'mk2', label: 'Q&A', seconds: 2.25 },
    ],
    messages: 7,
    products: 1,
  };
}

function fileIdOf(format: string): string {
  return String(events.find((b) => b.file_format === format)!.file_id);
}

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  rec = await startOn();
  dataDir = rec.dataDir;
  const publisher = publish(rec.rtmpUrl(STREAM), { seconds: PUSH_SECONDS });
  expect(await publisher.exited).toBe(0);
  events = await receiver.waitFor((b) => b.event_type === 100, 2);
}, 90_000);

afterAll(async () => {
  await rec?.stop();
  await receiver?.close();
  agent.destroy();
});

describe('VOD media actions against real recordings, with the official SDK', () => {
  it('SearchMedia by a NamePrefix finds both files under the FileIds of their callbacks, with MetaData', async () => {
    const answer = await client().SearchMedia({
      NamePrefixes: [STREAM],
      Sort: { Field: 'CreateTime', Order: 'Asc' },
    });
    expect(answer.TotalCount).toBe(2);
    const byId = new Map(answer.MediaInfoSet!.map((m) => [m.FileId, m]));
    expect([...byId.keys()].sort()).toEqual([fileIdOf('hls'), fileIdOf('mp4')].sort());
    for (const format of ['hls', 'mp4']) {
      const event = events.find((b) => b.file_format === format)!;
      const info = byId.get(String(event.file_id))!;
      const basic = info.BasicInfo!;
      expect(basic.Name).toMatch(new RegExp(`^${STREAM}_\\d{4}-`));
      expect(basic.Type).toBe(format === 'hls' ? 'm3u8' : 'mp4');
      expect(basic.MediaUrl).toBe(event.video_url);
      expect(basic.Vid).toBe(event.video_id);
      expect(basic.ExpireTime).toBe('9999-12-31T23:59:59Z');
      expect(basic.CreateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(basic.SourceInfo).toMatchObject({ SourceType: 'Record', LiveRecordInfo: { StreamId: STREAM } });
      expect(basic.Status).toBe('Normal');
      const meta = info.MetaData!;
      expect(meta).toMatchObject({ Width: 320, Height: 240, Size: event.file_size });
      expect(Math.abs(meta.Duration! - PUSH_SECONDS)).toBeLessThanOrEqual(1);
      expect(meta.Bitrate).toBeGreaterThan(0);
      expect(meta.Container).toBe(format === 'hls' ? 'hls' : 'mov,mp4,m4a,3gp,3g2,mj2');
      expect(meta.VideoStreamSet).toEqual([
        expect.objectContaining({ Codec: 'h264', Width: 320, Height: 240, Fps: 25 }),
      ]);
      expect(meta.AudioStreamSet).toEqual([expect.objectContaining({ Codec: 'aac', SamplingRate: 44100 })]);
    }
  });

  it('SearchMedia pages, filters by StreamIds and refuses Offset + Limit over 5000', async () => {
    const c = client();
    const first = await c.SearchMedia({ StreamIds: [STREAM], Offset: 1, Limit: 1 });
    expect(first.TotalCount).toBe(2);
    expect(first.MediaInfoSet).toHaveLength(1);
    expect((await c.SearchMedia({ NamePrefixes: ['nosuchstream'] })).TotalCount).toBe(0);
    await expect(c.SearchMedia({ Offset: 4990, Limit: 20 })).rejects.toMatchObject({
      code: 'InvalidParameterValue',
    });
  });

  it('DescribeMediaInfos answers the known FileId and lists the unknown one; Filters pick the parts', async () => {
    const answer = await client().DescribeMediaInfos({
      FileIds: [fileIdOf('mp4'), '5285890799999999999'],
      Filters: ['metaData'],
    });
    expect(answer.MediaInfoSet!.map((m) => m.FileId)).toEqual([fileIdOf('mp4')]);
    expect(answer.MediaInfoSet![0]!.BasicInfo).toBeUndefined();
    expect(answer.MediaInfoSet![0]!.MetaData!.Width).toBe(320);
    expect(answer.NotExistFileIdSet).toEqual(['5285890799999999999']);
  });

  it('SearchMedia filters by the extension HasMarkers, and refuses a HasMarkers that is not a boolean', async () => {
    const mp4 = fileIdOf('mp4');
    const [entry] = await rec.recorder.mediaIndex.get([mp4]);
    expect(await rec.recorder.mediaIndex.setTimeline(mp4, timelineOf(entry!.key))).toBe(true);
    const search = async (params: Record<string, unknown>) => {
      const answer = (await client().request('SearchMedia', { StreamIds: [STREAM], ...params })) as {
        TotalCount: number;
        MediaInfoSet: { FileId: string }[];
      };
      return { total: answer.TotalCount, ids: answer.MediaInfoSet.map((m) => m.FileId) };
    };
    expect(await search({ HasMarkers: true })).toEqual({ total: 1, ids: [mp4] });
    expect(await search({ HasMarkers: false })).toEqual({ total: 1, ids: [fileIdOf('hls')] });
    expect((await search({})).total).toBe(2);
    for (const bad of ['yes', 1, [true]]) {
      await expect(client().request('SearchMedia', { HasMarkers: bad }), String(bad)).rejects.toMatchObject({
        code: 'InvalidParameter',
        message: expect.stringMatching(/^HasMarkers: /),
      });
    }
  });

  it('DescribeMediaInfos and SearchMedia answer the extension TimelineInfo of a media with a timeline only', async () => {
    const mp4 = fileIdOf('mp4');
    const [entry] = await rec.recorder.mediaIndex.get([mp4]);
    await rec.recorder.mediaIndex.setTimeline(mp4, timelineOf(entry!.key));
    type Info = { FileId: string; BasicInfo?: { MediaUrl: string }; TimelineInfo?: unknown };
    const answer = (await client().request('DescribeMediaInfos', {
      FileIds: [mp4, fileIdOf('hls')],
    })) as { MediaInfoSet: Info[] };
    const [withTimeline, without] = answer.MediaInfoSet;
    // Made like MediaUrl and CoverUrl: the sidecars' keys sit beside the media's.
    const url = withTimeline!.BasicInfo!.MediaUrl;
    expect(withTimeline!.TimelineInfo).toEqual({
      EventsUrl: `${url}.events.json`,
      DanmakuUrl: `${url}.danmaku.vtt`,
      ChaptersUrl: `${url}.chapters.vtt`,
      Markers: [
        { Id: 'mk1', Label: 'Opening', Offset: 0.5 },
        { Id: 'mk2', Label: 'Q&A', Offset: 2.25 },
      ],
      MessageCount: 7,
      ProductCount: 1,
    });
    expect(without!.FileId).toBe(fileIdOf('hls'));
    expect(without).not.toHaveProperty('TimelineInfo');
    const found = (await client().request('SearchMedia', { StreamIds: [STREAM], HasMarkers: true })) as {
      MediaInfoSet: Info[];
    };
    expect(found.MediaInfoSet[0]!.TimelineInfo).toEqual(withTimeline!.TimelineInfo);
  });

  it('gives each media with video a cover, BasicInfo.CoverUrl; DeleteMedia removes it with the media', async () => {
    await rec.recorder.thumbnails.idle();
    const answer = await client().DescribeMediaInfos({ FileIds: [fileIdOf('mp4'), fileIdOf('hls')] });
    for (const info of answer.MediaInfoSet!) {
      const cover = info.BasicInfo!.CoverUrl!;
      expect(cover, info.FileId).toMatch(/\.(mp4|m3u8)\.jpg$/);
      const image = await fetch(cover);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/jpeg');
      const info2 = await probe(cover);
      expect(info2.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 640 });
    }
    const hlsCover = join(
      dataDir,
      new URL(answer.MediaInfoSet!.find((m) => m.FileId === fileIdOf('hls'))!.BasicInfo!.CoverUrl!).pathname,
    );
    expect(existsSync(hlsCover)).toBe(true);
    covers.hls = hlsCover;
  });

  it('DeleteMedia of the HLS media removes the playlist, every segment and its index entry', async () => {
    const hls = events.find((b) => b.file_format === 'hls')!;
    const playlist = join(dataDir, new URL(String(hls.video_url)).pathname);
    const head = playlist
      .slice(playlist.lastIndexOf('/') + 1)
      .replace(/_\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.m3u8$/, '');
    const segmentsOf = async () =>
      (await readdir(join(dataDir, 'live'))).filter((f) => f.startsWith(head) && f.endsWith('.ts'));
    expect(existsSync(playlist)).toBe(true);
    expect((await segmentsOf()).length).toBeGreaterThan(0);

    // Its timeline's sidecars, as the timeline writer leaves them beside the playlist.
    const [entry] = await rec.recorder.mediaIndex.get([String(hls.file_id)]);
    const timeline = timelineOf(entry!.key);
    for (const key of [timeline.events, timeline.danmaku, timeline.chapters])
      await writeFile(join(dataDir, key), 'WEBVTT\n');
    expect(await rec.recorder.mediaIndex.setTimeline(String(hls.file_id), timeline)).toBe(true);

    const answer = await client().DeleteMedia({ FileId: String(hls.file_id) });
    expect(answer.RequestId).toBeTruthy();
    expect(existsSync(playlist)).toBe(false);
    expect(await segmentsOf()).toEqual([]);
    // Its cover, sprite and WebVTT too, and its timeline's sidecars.
    expect(existsSync(covers.hls!)).toBe(false);
    expect((await readdir(join(dataDir, 'live'))).filter((f) => f.includes('.m3u8.'))).toEqual([]);
    expect(
      existsSync(
        join(dataDir, new URL(String(events.find((b) => b.file_format === 'mp4')!.video_url)).pathname),
      ),
    ).toBe(true);
    const after = await client().DescribeMediaInfos({ FileIds: [String(hls.file_id)] });
    expect(after.NotExistFileIdSet).toEqual([String(hls.file_id)]);
    await expect(client().DeleteMedia({ FileId: String(hls.file_id) })).rejects.toMatchObject({
      code: 'ResourceNotFound.FileNotExist',
    });
  });

  it('a restart on the same data dir keeps the index', async () => {
    await rec.recorder.stop();
    rec = await startOn(dataDir);
    const answer = await client().SearchMedia({ NamePrefixes: [STREAM] });
    expect(answer.TotalCount).toBe(1);
    expect(answer.MediaInfoSet![0]!.FileId).toBe(fileIdOf('mp4'));
    expect(answer.MediaInfoSet![0]!.MetaData!.Height).toBe(240);
  });
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
