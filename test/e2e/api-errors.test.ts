import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTc3 } from '../../src/api/tc3.js';
import { startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = { secretId: 'AKIDrecorderApiErrors', secretKey: 'recorder-api-errors-secret' };
const TOKEN = 'api-errors-admin-token';
const BODY_LIMIT = 4096;

let rec: TestRecorder;
let guarded: TestRecorder;

beforeAll(async () => {
  rec = await startRecorder({ http: { bodyLimitBytes: BODY_LIMIT }, api: { credentials: [KEY] } });
  guarded = await startRecorder({ api: { adminToken: TOKEN } });
});

afterAll(async () => {
  await rec?.stop();
  await guarded?.stop();
});

interface BadRequest {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | (() => ReadableStream<Uint8Array>);
  status: number;
  code: string;
  /** Another recorder than the default one. */
  on?: () => TestRecorder;
}

const json = { 'content-type': 'application/json' };
const expiry = '/api/media/expiry';

/** A body sent in chunks with no Content-Length, so only the bytes read can tell it is too large. */
function chunked(bytes: number): () => ReadableStream<Uint8Array> {
  return () => {
    let left = bytes;
    return new ReadableStream({
      pull(controller) {
        if (left <= 0) return controller.close();
        const n = Math.min(1024, left);
        left -= n;
        controller.enqueue(new TextEncoder().encode('a'.repeat(n)));
      },
    });
  };
}

const cases: BadRequest[] = [
  {
    name: 'malformed JSON',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: '{"key":',
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'an empty JSON body',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: '',
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'a JSON array',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: '[1,2]',
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'a text body',
    method: 'PUT',
    path: expiry,
    headers: { 'content-type': 'text/plain' },
    body: 'key=live/a.mp4',
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'an XML body',
    method: 'PUT',
    path: expiry,
    headers: { 'content-type': 'application/xml' },
    body: '<key/>',
    status: 415,
    code: 'InvalidParameter.ContentType',
  },
  {
    name: 'a body past the limit',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: JSON.stringify({ key: 'a'.repeat(BODY_LIMIT) }),
    status: 413,
    code: 'RequestSizeLimitExceeded',
  },
  {
    name: 'a chunked body past the limit',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: chunked(BODY_LIMIT * 4),
    status: 413,
    code: 'RequestSizeLimitExceeded',
  },
  {
    name: 'a number for a string',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: '{"key":5,"expiresAt":null}',
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'a missing field',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: '{"expiresAt":null}',
    status: 400,
    code: 'MissingParameter',
  },
  {
    name: 'a bad date',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: '{"key":"live/a.mp4","expiresAt":"tomorrow"}',
    status: 400,
    code: 'InvalidParameterValue',
  },
  {
    name: 'an unknown field',
    method: 'PUT',
    path: expiry,
    headers: json,
    body: '{"key":"live/a.mp4","expiresAt":null,"pin":true}',
    status: 400,
    code: 'UnknownParameter',
  },
  { name: 'a missing query parameter', method: 'GET', path: expiry, status: 400, code: 'MissingParameter' },
  {
    name: 'a key that escapes its directory',
    method: 'GET',
    path: `${expiry}?key=../../etc/passwd`,
    status: 400,
    code: 'InvalidParameterValue',
  },
  {
    name: 'an unknown dead letter',
    method: 'POST',
    path: '/api/callbacks/dead/no-such-id/redeliver',
    status: 404,
    code: 'ResourceNotFound',
  },
  {
    name: 'a malformed dead-letter id',
    method: 'POST',
    path: '/api/callbacks/dead/a%24b/redeliver',
    status: 400,
    code: 'InvalidParameterValue',
  },
  {
    name: 'malformed JSON to a route without a body',
    method: 'POST',
    path: '/api/callbacks/dead/x/redeliver',
    headers: json,
    body: '{',
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'a wrong method',
    method: 'DELETE',
    path: '/api/callbacks/dead',
    status: 405,
    code: 'UnsupportedOperation',
  },
  {
    name: 'a wrong method on a route with a parameter',
    method: 'GET',
    path: '/api/callbacks/dead/x/redeliver',
    status: 405,
    code: 'UnsupportedOperation',
  },
  { name: 'an unknown route', method: 'GET', path: '/api/no-such-route', status: 404, code: 'InvalidAction' },
  {
    name: 'an unknown action with a body',
    method: 'POST',
    path: '/api/DescribeNothing',
    headers: json,
    body: '{}',
    status: 404,
    code: 'InvalidAction',
  },
  {
    name: 'no bearer token',
    method: 'GET',
    path: '/api/callbacks/dead',
    status: 401,
    code: 'AuthFailure.InvalidAuthorization',
    on: () => guarded,
  },
  {
    name: 'a wrong bearer token',
    method: 'PUT',
    path: expiry,
    headers: { ...json, authorization: 'Bearer not-the-token-at-all' },
    body: '{',
    status: 401,
    code: 'AuthFailure.InvalidAuthorization',
    on: () => guarded,
  },
];

async function send(c: BadRequest): Promise<{ status: number; text: string; allow: string | null }> {
  const target = (c.on ?? (() => rec))();
  const body = typeof c.body === 'function' ? c.body() : c.body;
  const res = await fetch(`http://127.0.0.1:${target.recorder.httpPort}${c.path}`, {
    method: c.method,
    headers: c.headers,
    body,
    ...(typeof c.body === 'function' ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: res.status, text: await res.text(), allow: res.headers.get('allow') };
}

/** No stack frame, no file path of this machine, no work or data directory. */
function expectNoInternals(text: string, dataDir: string): void {
  expect(text).not.toMatch(/\bat \S+ \(|\bat (file:|node:|\/)/);
  expect(text).not.toMatch(/\.(ts|js|mjs):\d+/);
  expect(text).not.toMatch(/node_modules|\/src\/|\/dist\//);
  expect(text).not.toContain(dataDir);
}

describe('/api/ answers bad requests with 4xx in Tencent error shape', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { status, text, allow } = await send(c);
    expect(status).toBe(c.status);
    const body = JSON.parse(text) as {
      Response: { Error: { Code: string; Message: string }; RequestId: string };
    };
    expect(body.Response.Error.Code).toBe(c.code);
    expect(body.Response.Error.Message).toEqual(expect.any(String));
    expect(body.Response.Error.Message.length).toBeGreaterThan(0);
    expect(body.Response.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    expectNoInternals(text, (c.on ?? (() => rec))().dataDir);
    if (c.status === 405) expect(allow).toMatch(/^(GET|POST)/);
  });

  it('the limit is the configured one: a body just under it is read and checked', async () => {
    const key = `live/${'a'.repeat(BODY_LIMIT - 100)}.mp4`;
    const { status, text } = await send({
      name: 'under the limit',
      method: 'PUT',
      path: expiry,
      headers: json,
      body: JSON.stringify({ key, expiresAt: null }),
      status: 0,
      code: '',
    });
    // Read in full: refused for what it says (the key names nothing stored), not for its size.
    expect(status).not.toBe(413);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expectNoInternals(text, rec.dataDir);
  });
});

describe('the Tencent API on POST / answers HTTP 200 with Response.Error, as Tencent does', () => {
  async function call(action: string, body: string | Buffer, contentType = 'application/json') {
    const host = `127.0.0.1:${rec.recorder.httpPort}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const authorization = signTc3({
      ...KEY,
      service: 'vod',
      timestamp,
      headers: { 'content-type': contentType, host },
      body,
    });
    const res = await fetch(`http://${host}/`, {
      method: 'POST',
      headers: {
        authorization,
        'content-type': contentType,
        'x-tc-action': action,
        'x-tc-version': '2018-07-17',
        'x-tc-timestamp': String(timestamp),
      },
      body,
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as { Response: { Error?: { Code: string } } } };
  }

  it.each([
    ['malformed JSON', 'SearchMedia', '{"Limit":', 'application/json', 'InvalidParameter'],
    ['a wrong content type', 'SearchMedia', '{}', 'text/plain', 'InvalidParameter'],
    ['a wrong type', 'SearchMedia', '{"Limit":"ten"}', 'application/json', 'InvalidParameter'],
    ['an unknown action', 'DescribeNothing', '{}', 'application/json', 'InvalidAction'],
  ])('%s', async (_name, action, body, contentType, code) => {
    const { status, text, json } = await call(action, body, contentType);
    expect(status).toBe(200);
    expect(json.Response.Error?.Code).toBe(code);
    expectNoInternals(text, rec.dataDir);
  });

  it('a body past 10 MB', async () => {
    const { status, text, json } = await call('SearchMedia', Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    expect(status).toBe(200);
    expect(json.Response.Error?.Code).toBe('RequestSizeLimitExceeded');
    expectNoInternals(text, rec.dataDir);
  });
});
