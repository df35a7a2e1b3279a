import { Agent } from 'node:http';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = { secretId: 'AKIDrecorderTemplates01', secretKey: 'recorder-templates-secret-01' };
const PUSH_SECONDS = 4;
const DAY_MS = 86_400_000;
// An explicit agent: the SDK would otherwise route even 127.0.0.1 through an `http_proxy` from the environment.
const agent = new Agent();

function liveClient(rec: TestRecorder): CommonClient {
  return new CommonClient('live.tencentcloudapi.com', '2018-08-01', {
    credential: KEY,
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: `127.0.0.1:${rec.recorder.httpPort}`, protocol: 'http://', agent } },
  });
}

afterAll(() => agent.destroy());

describe('recording templates and rules over the Tencent API', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;
  let live: CommonClient;
  let templateId: number;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      api: { credentials: [KEY] },
      record: { formats: ['hls'], hlsSegmentSeconds: 2, storageDays: 0 },
      callback: { url: receiver.url },
    });
    live = liveClient(rec);
  });

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('CreateLiveRecordTemplate returns TemplateId 1, and Describe answers RecordTemplateInfo', async () => {
    const created = await live.request('CreateLiveRecordTemplate', {
      TemplateName: 'mp4_only',
      Description: 'MP4, kept 3 days',
      Mp4Param: { Enable: 1, RecordInterval: 1800, StorageTime: 3 * 86_400, VodSubAppId: 1400000001 },
      HlsSpecialParam: { FlowContinueDuration: 0 },
    });
    templateId = created.TemplateId as number;
    expect(templateId).toBe(1);
    const one = await live.request('DescribeLiveRecordTemplate', { TemplateId: templateId });
    expect(one.Template).toEqual({
      TemplateId: 1,
      TemplateName: 'mp4_only',
      Description: 'MP4, kept 3 days',
      FlvParam: { RecordInterval: 1800, StorageTime: 0, Enable: 0 },
      HlsParam: { RecordInterval: 1800, StorageTime: 0, Enable: 0 },
      Mp4Param: { RecordInterval: 1800, StorageTime: 259_200, Enable: 1, VodSubAppId: 1400000001 },
      AacParam: { RecordInterval: 1800, StorageTime: 0, Enable: 0 },
      HlsSpecialParam: { FlowContinueDuration: 0 },
      IsDelayLive: 0,
    });
    const all = await live.request('DescribeLiveRecordTemplates', {});
    expect(all.Templates).toEqual([one.Template]);
  });

  it('CreateLiveRecordRule binds it to one stream; DescribeLiveRecordRules lists RuleInfo', async () => {
    await live.request('CreateLiveRecordRule', {
      DomainName: '127.0.0.1',
      AppName: 'live',
      StreamName: 'ruled',
      TemplateId: templateId,
    });
    const { Rules } = await live.request('DescribeLiveRecordRules', {});
    expect(Rules).toEqual([
      {
        CreateTime: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        UpdateTime: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        TemplateId: 1,
        DomainName: '127.0.0.1',
        AppName: 'live',
        StreamName: 'ruled',
      },
    ]);
  });

  it('the ruled stream records only MP4 with its template; another stream uses the config (HLS)', async () => {
    const pushes = [
      publish(rec.rtmpUrl('ruled'), { seconds: PUSH_SECONDS }),
      publish(rec.rtmpUrl('plain'), { seconds: PUSH_SECONDS }),
    ];
    expect(await Promise.all(pushes.map((p) => p.exited))).toEqual([0, 0]);
    const recorded = await receiver.waitFor((b) => b.event_type === 100, 2);
    const byStream = Object.fromEntries(recorded.map((b) => [String(b.stream_id), b]));
    expect(byStream.ruled).toMatchObject({ file_format: 'mp4', record_temp_id: '1' });
    expect(byStream.plain).toMatchObject({ file_format: 'hls', record_temp_id: '' });
    const files = await rec.files();
    expect(files.filter((f) => f.startsWith('ruled_')).every((f) => f.endsWith('.mp4'))).toBe(true);
    expect(files.some((f) => f.startsWith('plain_') && f.endsWith('.m3u8'))).toBe(true);
    expect(files.some((f) => f.startsWith('plain_') && f.endsWith('.mp4'))).toBe(false);
    expect(receiver.bodies.filter((b) => b.event_type === 100)).toHaveLength(2);

    // StorageTime applies per format: the template's MP4 expires in 3 days; the config keeps HLS forever.
    const expiry = async (url: unknown) => {
      const key = new URL(String(url)).pathname.slice(1);
      const res = await fetch(
        `http://127.0.0.1:${rec.recorder.httpPort}/api/media/expiry?key=${encodeURIComponent(key)}`,
      );
      return ((await res.json()) as { expiresAt: string | null }).expiresAt;
    };
    const mp4Expiry = await expiry(byStream.ruled!.video_url);
    expect(Math.abs(Date.parse(mp4Expiry!) - (Date.now() + 3 * DAY_MS))).toBeLessThan(60_000);
    expect(await expiry(byStream.plain!.video_url)).toBeNull();
  }, 60_000);

  it('errors answer Tencent codes', async () => {
    const codeOf = (action: string, params: object) =>
      live.request(action, params).then(
        () => 'ok',
        (err: { code?: string }) => err.code,
      );
    expect(await codeOf('DescribeLiveRecordTemplate', { TemplateId: 99 })).toBe('ResourceNotFound');
    expect(await codeOf('ModifyLiveRecordTemplate', { TemplateId: 99, Description: 'x' })).toBe(
      'ResourceNotFound',
    );
    expect(
      await codeOf('CreateLiveRecordTemplate', { TemplateName: 'x', FlvParam: { RecordInterval: 100 } }),
    ).toBe('InvalidParameterValue');
    expect(
      await codeOf('CreateLiveRecordTemplate', {
        TemplateName: 'x',
        HlsSpecialParam: { FlowContinueDuration: 3600 },
      }),
    ).toBe('InvalidParameterValue');
    expect(await codeOf('CreateLiveRecordTemplate', { Description: 'no name' })).toBe('MissingParameter');
    expect(await codeOf('DeleteLiveRecordTemplate', { TemplateId: templateId })).toBe(
      'FailedOperation.ConfInUsed',
    );
    expect(
      await codeOf('CreateLiveRecordRule', {
        DomainName: '127.0.0.1',
        AppName: 'live',
        StreamName: 'ruled',
        TemplateId: 1,
      }),
    ).toBe('FailedOperation.RuleAlreadyExist');
    expect(await codeOf('CreateLiveRecordRule', { DomainName: '127.0.0.1', TemplateId: 42 })).toBe(
      'ResourceNotFound',
    );
    expect(await codeOf('DeleteLiveRecordRule', { DomainName: '127.0.0.1', AppName: 'live' })).toBe(
      'ResourceNotFound',
    );
  });

  it('templates and rules survive a restart on the same dataDir; TemplateIds are not reused', async () => {
    await live.request('ModifyLiveRecordTemplate', { TemplateId: 1, Mp4Param: { RecordInterval: 600 } });
    await live.request('CreateLiveRecordTemplate', { TemplateName: 'scratch' });
    await live.request('DeleteLiveRecordTemplate', { TemplateId: 2 });
    const before = await live.request('DescribeLiveRecordTemplates', {});
    await rec.recorder.stop();
    rec = await startRecorder({ api: { credentials: [KEY] }, dataDir: rec.dataDir });
    live = liveClient(rec);
    const after = await live.request('DescribeLiveRecordTemplates', {});
    expect(after.Templates).toEqual(before.Templates);
    expect((after.Templates as { Mp4Param: { RecordInterval: number } }[])[0]!.Mp4Param.RecordInterval).toBe(
      600,
    );
    const { Rules } = await live.request('DescribeLiveRecordRules', {});
    expect(Rules).toMatchObject([
      { TemplateId: 1, DomainName: '127.0.0.1', AppName: 'live', StreamName: 'ruled' },
    ]);
    expect((await live.request('CreateLiveRecordTemplate', { TemplateName: 'next' })).TemplateId).toBe(3);
    await live.request('DeleteLiveRecordRule', {
      DomainName: '127.0.0.1',
      AppName: 'live',
      StreamName: 'ruled',
    });
    await live.request('DeleteLiveRecordTemplate', { TemplateId: 1 });
    expect((await live.request('DescribeLiveRecordRules', {})).Rules).toEqual([]);
  });
});

describe('record.auto: false', () => {
  let rec: TestRecorder;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      api: { credentials: [KEY] },
      record: { formats: ['hls'], hlsSegmentSeconds: 2, auto: false },
      callback: { url: receiver.url },
    });
  });

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('an unruled push is accepted (events 1 and 0) but nothing is recorded; a ruled one is', async () => {
    const live = liveClient(rec);
    const { TemplateId } = await live.request('CreateLiveRecordTemplate', {
      TemplateName: 'flv',
      FlvParam: { Enable: 1 },
    });
    // An empty DomainName matches any push domain.
    await live.request('CreateLiveRecordRule', { DomainName: '', StreamName: 'chosen', TemplateId });
    const pushes = [
      publish(rec.rtmpUrl('ignored'), { seconds: PUSH_SECONDS }),
      publish(rec.rtmpUrl('chosen'), { seconds: PUSH_SECONDS }),
    ];
    expect(await Promise.all(pushes.map((p) => p.exited))).toEqual([0, 0]);
    const ended = await receiver.waitFor((b) => b.event_type === 0, 2);
    expect(ended.map((b) => b.stream_id).sort()).toEqual(['chosen', 'ignored']);
    await receiver.waitFor((b) => b.event_type === 100, 1);
    const files = await rec.files();
    expect(files.some((f) => f.startsWith('ignored'))).toBe(false);
    expect(files.filter((f) => f.startsWith('chosen_'))).toEqual([expect.stringMatching(/\.flv$/)]);
    const ignored = receiver.bodies.filter((b) => b.stream_id === 'ignored').map((b) => b.event_type);
    expect(ignored.sort()).toEqual([0, 1]);
  }, 60_000);
});
