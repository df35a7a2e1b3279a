import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

type Labels = Record<string, string>;

/** The value of one sample in Prometheus text format, matched by name and a subset of its labels. */
function sample(text: string, name: string, labels: Labels = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function scrape(rec: TestRecorder): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${rec.recorder.httpPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

function api(rec: TestRecorder, path: string, init?: RequestInit): Promise<Response> {
  return fetch(`http://127.0.0.1:${rec.recorder.httpPort}${path}`, init);
}

/** Nothing more will be sent: recordings done, files stored, every callback delivered or dead. */
function settled(rec: TestRecorder): boolean {
  const { manager, uploads, outbox } = rec.recorder;
  return manager.sessions.length === 0 && uploads.pending().length === 0 && outbox.pending().length === 0;
}

describe('GET /metrics', () => {
  const TOKEN = 'admin-token-metrics';
  let receiver: CallbackReceiver;
  let rec: TestRecorder;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['mp4'] },
      callback: { url: receiver.url },
      api: { adminToken: TOKEN },
    });
  });

  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  it('counts bytes while a stream is pushed, then callbacks and uploads once it is stored', async () => {
    const labels = { app: 'live', stream: 'metrics1' };
    const publisher = publish(rec.rtmpUrl('metrics1'), { seconds: 4 });

    const first = await eventually(
      async () => {
        const text = await scrape(rec);
        const bytes = sample(text, 'recorder_bytes_in_total', labels) ?? 0;
        return bytes > 0 && sample(text, 'recorder_active_recordings') === 1 ? bytes : undefined;
      },
      15_000,
      'bytes in and one active recording',
    );
    await eventually(
      async () => (sample(await scrape(rec), 'recorder_bytes_in_total', labels) ?? 0) > first,
      15_000,
      'bytes in to grow during the push',
    );
    expect(await publisher.exited).toBe(0);

    await receiver.waitFor((b) => b.event_type === 100, 1, 60_000);
    await eventually(() => settled(rec), 30_000, 'recording stored and callbacks sent');
    const text = await scrape(rec);
    const delivered = receiver.bodies.length;
    expect(delivered).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'recorder_callbacks_delivered_total')).toBe(delivered);
    expect(sample(text, 'recorder_callback_attempt_seconds_count', { outcome: 'delivered' })).toBe(delivered);
    expect(sample(text, 'recorder_callback_attempt_seconds_sum', { outcome: 'delivered' })).toBeGreaterThan(
      0,
    );
    expect(sample(text, 'recorder_callbacks_pending')).toBe(0);
    expect(sample(text, 'recorder_callbacks_dead')).toBe(0);
    expect(sample(text, 'recorder_upload_queue_depth')).toBe(0);
    expect(sample(text, 'recorder_active_recordings')).toBe(0);
    expect(sample(text, 'recorder_ffmpeg_restarts_total')).toBe(0);
    expect(sample(text, 'recorder_bytes_in_total', labels)).toBeGreaterThan(first);
    // Process metrics from prom-client's defaults, under the same prefix.
    expect(sample(text, 'recorder_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'recorder_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('needs no token, while /api/ does', async () => {
    expect((await api(rec, '/metrics')).status).toBe(200);
    expect((await api(rec, '/api/callbacks/dead')).status).toBe(401);
    const res = await api(rec, '/api/callbacks/dead', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ dead: [] });
  });
});

describe('dead-letter callbacks', () => {
  let status = 500;
  const received: { body: Record<string, unknown>; answered: number }[] = [];
  const receiver = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      received.push({ body: JSON.parse(text) as Record<string, unknown>, answered: status });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"code":0}');
    });
  });
  let rec: TestRecorder;

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    rec = await startRecorder({
      record: { formats: ['mp4'] },
      callback: { url: `http://127.0.0.1:${port}/callback`, maxAttempts: 2, retryIntervalSeconds: 0.1 },
    });
  });

  afterAll(async () => {
    await rec?.stop();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('lists callbacks that ran out of attempts and redelivers them on request', async () => {
    expect(await publish(rec.rtmpUrl('dead1'), { seconds: 2 }).exited).toBe(0);
    await eventually(() => settled(rec), 60_000, 'every callback dead');

    const listed = (await (await api(rec, '/api/callbacks/dead')).json()) as {
      dead: {
        id: string;
        url: string;
        eventType: unknown;
        attempts: number;
        lastError: string;
        createdAt: string;
      }[];
    };
    const types = listed.dead.map((d) => d.eventType);
    expect(types).toEqual(expect.arrayContaining([1, 0, 100]));
    for (const dead of listed.dead) {
      expect(dead).toMatchObject({
        url: expect.stringMatching(/\/callback$/),
        attempts: 2,
        lastError: 'HTTP 500',
      });
      expect(new Date(dead.createdAt).toISOString()).toBe(dead.createdAt);
    }
    const n = listed.dead.length;
    let text = await scrape(rec);
    expect(sample(text, 'recorder_callbacks_dead')).toBe(n);
    expect(sample(text, 'recorder_callback_attempt_seconds_count', { outcome: 'failed' })).toBe(2 * n);
    expect(sample(text, 'recorder_callbacks_delivered_total')).toBe(0);

    const unknown = await api(rec, '/api/callbacks/dead/no-such-id/redeliver', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });

    status = 200;
    for (const { id } of listed.dead) {
      const res = await api(rec, `/api/callbacks/dead/${id}/redeliver`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id, state: 'pending' });
    }
    const ids = listed.dead.map((d) => d.id);
    await eventually(
      () =>
        ids.every((id) => received.some((r) => r.body.event_id === id && r.answered === 200)) && settled(rec),
      15_000,
      'redelivered callbacks to arrive',
    );
    expect(await (await api(rec, '/api/callbacks/dead')).json()).toEqual({ dead: [] });
    text = await scrape(rec);
    expect(sample(text, 'recorder_callbacks_dead')).toBe(0);
    expect(sample(text, 'recorder_callbacks_delivered_total')).toBe(n);
    // Redelivered once, it is no longer a dead letter.
    expect((await api(rec, `/api/callbacks/dead/${ids[0]}/redeliver`, { method: 'POST' })).status).toBe(404);
  });

  it('refuses other hosts without an admin token', async () => {
    const res = await rec.recorder.http.app.inject({
      method: 'GET',
      url: '/api/callbacks/dead',
      remoteAddress: '203.0.113.7',
    });
    expect(res.statusCode).toBe(403);
  });
});
