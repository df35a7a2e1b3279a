import { Agent } from 'node:http';
import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signTc3 } from '../../src/api/tc3.js';
import { parseTencentParams, TencentApiError } from '../../src/api/tencent-api.js';
import { startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = { secretId: 'AKIDrecorderTest0001', secretKey: 'recorder-test-secret-key-0001' };
const LIVE_VERSION = '2018-08-01';
const VOD_VERSION = '2018-07-17';

interface TencentAnswer {
  Response: { RequestId: string; Error?: { Code: string; Message: string } } & Record<string, unknown>;
}

let rec: TestRecorder;
// An explicit agent: the SDK would otherwise route even 127.0.0.1 through an `http_proxy` from the environment.
const agent = new Agent();

function profile() {
  return { httpProfile: { endpoint: `127.0.0.1:${rec.recorder.httpPort}`, protocol: 'http://', agent } };
}

function liveClient(credential = KEY): CommonClient {
  return new CommonClient('live.tencentcloudapi.com', LIVE_VERSION, {
    credential,
    region: 'ap-guangzhou',
    profile: profile(),
  });
}

/** A request signed here, for what the SDK cannot be made to send (an old timestamp, a broken body). */
async function rawCall(
  action: string,
  body: string,
  options: { timestamp?: number; version?: string; service?: string } = {},
): Promise<{ status: number; text: string; json: TencentAnswer }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const host = `127.0.0.1:${rec.recorder.httpPort}`;
  const authorization = signTc3({
    ...KEY,
    service: options.service ?? 'live',
    timestamp,
    headers: { 'content-type': 'application/json', host },
    body,
  });
  const res = await fetch(`http://${host}/`, {
    method: 'POST',
    headers: {
      authorization,
      'content-type': 'application/json',
      'x-tc-action': action,
      'x-tc-version': options.version ?? LIVE_VERSION,
      'x-tc-timestamp': String(timestamp),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as TencentAnswer };
}

const streamParams = z.object({ StreamName: z.string().min(1), Limit: z.number().int().max(100).optional() });

beforeAll(async () => {
  rec = await startRecorder({ api: { credentials: [{ secretId: 'AKIDanother', secretKey: 'x' }, KEY] } });
  rec.recorder.tencentActions
    .register('live', 'DescribeRecorderEcho', async (params, ctx) => ({
      Params: params,
      SecretId: ctx.secretId,
      Service: ctx.service,
      Region: ctx.region ?? null,
    }))
    .register('live', 'DescribeRecorderStream', async (params) => {
      const { StreamName } = parseTencentParams(streamParams, params);
      if (StreamName === 'absent') throw new TencentApiError('ResourceNotFound', 'no such stream');
      return { StreamName };
    })
    .register('live', 'CreateRecorderBadValue', async () => {
      throw new TencentApiError('InvalidParameterValue', 'EndTime must be later than StartTime');
    })
    .register('live', 'CreateRecorderCrash', async () => {
      throw new Error('disk exploded at /var/lib/secret/place');
    });
  // DescribeMediaInfos is the recorder's own (src/media): unknown FileIds come back in NotExistFileIdSet.
});

afterAll(async () => {
  await rec?.stop();
  agent.destroy();
});

describe('Tencent API v3 on POST / with the official Node SDK', () => {
  it('CommonClient calls a live action though it signs the service "127" for an IP endpoint', async () => {
    const answer = await liveClient().request('DescribeRecorderEcho', {
      StreamName: 's1',
      Nested: { A: [1] },
    });
    expect(answer).toMatchObject({
      Params: { StreamName: 's1', Nested: { A: [1] } },
      SecretId: KEY.secretId,
      Service: 'live',
      Region: 'ap-guangzhou',
    });
    expect(answer.RequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the VOD client round-trips DescribeMediaInfos', async () => {
    const client = new vod.v20180717.Client({ credential: KEY, region: 'ap-guangzhou', profile: profile() });
    const answer = await client.DescribeMediaInfos({ FileIds: ['5285890781', '5285890782'] });
    expect(answer.MediaInfoSet).toEqual([]);
    expect(answer.NotExistFileIdSet).toEqual(['5285890781', '5285890782']);
    expect(answer.RequestId).toBeTruthy();
  });

  it('a wrong SecretKey surfaces as AuthFailure.SignatureFailure', async () => {
    const call = liveClient({ ...KEY, secretKey: 'not-the-key' }).request('DescribeRecorderEcho', {});
    await expect(call).rejects.toMatchObject({ code: 'AuthFailure.SignatureFailure' });
  });

  it('an unknown SecretId surfaces as AuthFailure.SecretIdNotFound', async () => {
    const call = liveClient({ secretId: 'AKIDnobody', secretKey: KEY.secretKey }).request(
      'DescribeRecorderEcho',
      {},
    );
    await expect(call).rejects.toMatchObject({ code: 'AuthFailure.SecretIdNotFound' });
  });

  it('an unknown action is InvalidAction', async () => {
    const call = liveClient().request('DescribeLiveTranscodeTemplates', {});
    await expect(call).rejects.toMatchObject({ code: 'InvalidAction' });
  });

  it('a VOD action under the live version is InvalidAction', async () => {
    await expect(liveClient().request('DescribeMediaInfos', { FileIds: [] })).rejects.toMatchObject({
      code: 'InvalidAction',
    });
  });

  it('a handler throwing TencentApiError answers with its code and message', async () => {
    const call = liveClient().request('CreateRecorderBadValue', {});
    await expect(call).rejects.toMatchObject({
      code: 'InvalidParameterValue',
      message: 'EndTime must be later than StartTime',
    });
    await expect(
      liveClient().request('DescribeRecorderStream', { StreamName: 'absent' }),
    ).rejects.toMatchObject({
      code: 'ResourceNotFound',
    });
  });

  it('parameter validation maps to MissingParameter, InvalidParameter and InvalidParameterValue', async () => {
    const client = liveClient();
    await expect(client.request('DescribeRecorderStream', {})).rejects.toMatchObject({
      code: 'MissingParameter',
    });
    await expect(client.request('DescribeRecorderStream', { StreamName: 5 })).rejects.toMatchObject({
      code: 'InvalidParameter',
    });
    await expect(
      client.request('DescribeRecorderStream', { StreamName: 's', Limit: 500 }),
    ).rejects.toMatchObject({
      code: 'InvalidParameterValue',
    });
    await expect(client.request('DescribeRecorderStream', { StreamName: 's' })).resolves.toMatchObject({
      StreamName: 's',
    });
  });

  it('a handler throwing a plain Error is InternalError, with neither its message nor a stack', async () => {
    await expect(liveClient().request('CreateRecorderCrash', {})).rejects.toMatchObject({
      code: 'InternalError',
    });
    const raw = await rawCall('CreateRecorderCrash', '{}');
    expect(raw.status).toBe(200);
    expect(raw.json.Response.Error?.Code).toBe('InternalError');
    expect(raw.text).not.toMatch(/exploded|secret|\bat \S+:\d+|\.ts\b/);
  });
});

describe('Tencent API v3 with requests signed by signTc3', () => {
  it('a signed request succeeds and answers HTTP 200 with Response and RequestId', async () => {
    const raw = await rawCall('DescribeRecorderEcho', '{"StreamName":"raw"}');
    expect(raw.status).toBe(200);
    expect(raw.json.Response).toMatchObject({ Params: { StreamName: 'raw' }, RequestId: expect.any(String) });
  });

  it('a timestamp ten minutes old is AuthFailure.SignatureExpire', async () => {
    const raw = await rawCall('DescribeRecorderEcho', '{}', {
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(raw.status).toBe(200);
    expect(raw.json.Response.Error?.Code).toBe('AuthFailure.SignatureExpire');
    expect(raw.json.Response.RequestId).toBeTruthy();
  });

  it('a body that is not JSON is InvalidParameter, without a stack', async () => {
    const raw = await rawCall('DescribeRecorderEcho', '{"StreamName": ');
    expect(raw.status).toBe(200);
    expect(raw.json.Response.Error?.Code).toBe('InvalidParameter');
    expect(raw.text).not.toMatch(/SyntaxError|\bat \S+:\d+/);
  });

  it('an unknown version is NoSuchVersion, and a signed service must agree with the version', async () => {
    const unknown = await rawCall('DescribeRecorderEcho', '{}', { version: '2017-03-12' });
    expect(unknown.json.Response.Error?.Code).toBe('NoSuchVersion');
    const crossed = await rawCall('DescribeMediaInfos', '{"FileIds":[]}', {
      version: VOD_VERSION,
      service: 'live',
    });
    expect(crossed.json.Response.Error?.Code).toBe('NoSuchVersion');
    const vodSigned = await rawCall('DescribeMediaInfos', '{"FileIds":["f"]}', {
      version: VOD_VERSION,
      service: 'vod',
    });
    expect(vodSigned.json.Response).toMatchObject({ NotExistFileIdSet: ['f'] });
  });

  it('a request without Authorization is AuthFailure.InvalidAuthorization, and no action is missing', async () => {
    const base = `http://127.0.0.1:${rec.recorder.httpPort}/`;
    const headers = { 'content-type': 'application/json', 'x-tc-version': LIVE_VERSION };
    const noAuth = await fetch(base, {
      method: 'POST',
      headers: { ...headers, 'x-tc-action': 'DescribeRecorderEcho', 'x-tc-timestamp': '1' },
      body: '{}',
    });
    expect(noAuth.status).toBe(200);
    expect(((await noAuth.json()) as TencentAnswer).Response.Error?.Code).toBe(
      'AuthFailure.InvalidAuthorization',
    );
    const noAction = await fetch(base, { method: 'POST', headers, body: '{}' });
    expect(((await noAction.json()) as TencentAnswer).Response.Error?.Code).toBe('MissingParameter');
  });

  it('a body over 10 MB is RequestSizeLimitExceeded', async () => {
    const raw = await rawCall('DescribeRecorderEcho', JSON.stringify({ Pad: 'x'.repeat(10 * 1024 * 1024) }));
    expect(raw.status).toBe(200);
    expect(raw.json.Response.Error?.Code).toBe('RequestSizeLimitExceeded');
  });

  it('other routes keep their own JSON parsing and GET / stays with the static files', async () => {
    const base = `http://127.0.0.1:${rec.recorder.httpPort}`;
    const put = await fetch(`${base}/api/media/expiry`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'not a key', expiresAt: null }),
    });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { message: string }).message).toContain('key');
    const get = await fetch(`${base}/`);
    expect(get.status).toBe(404);
    expect(await get.text()).not.toContain('Response');
  });
});
