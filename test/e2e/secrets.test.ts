import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { txSecretFor, txTimeFor } from '../../src/auth/tx-secret.js';
import { parseConfig } from '../../src/config/load.js';
import { Recorder } from '../../src/main.js';
import { createLogger } from '../../src/shared/logger.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { publish } from '../helpers/recorder.js';

const PUSH_KEY = 'push-key-never-logged-1';
const BACKUP_KEY = 'backup-key-never-logged-2';
const CALLBACK_KEY = 'callback-key-never-logged-3';
const API_SECRET = 'api-secret-never-logged-4';
const ADMIN_TOKEN = 'admin-token-never-logged-5';
const VIEWER_TOKEN = 'viewer-token-never-logged-6';
const PLAYBACK_KEY = 'PlaybackKeyNever7';

let minio: TestMinio;
let receiver: CallbackReceiver;
let dataDir: string;

beforeAll(async () => {
  minio = await startMinio();
  receiver = await startCallbackReceiver();
  dataDir = await mkdtemp(join(tmpdir(), 'recorder-logcheck-'));
});

afterAll(async () => {
  await receiver?.close();
  await minio?.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

describe('secrets never reach the logs', () => {
  it('keys, the txSecret, the callback key, storage and API secrets appear in no log line, at debug level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = parseConfig({
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      dataDir,
      record: { formats: ['mp4'] },
      auth: { publish: { enabled: true, key: PUSH_KEY, backupKey: BACKUP_KEY } },
      callback: { url: receiver.url, key: CALLBACK_KEY, retryIntervalSeconds: 0.2 },
      api: {
        credentials: [{ secretId: 'AKIDsecrets', secretKey: API_SECRET }],
        adminToken: ADMIN_TOKEN,
        tokens: [{ name: 'wall', token: VIEWER_TOKEN, role: 'viewer' }],
      },
      playback: { key: PLAYBACK_KEY },
      storage: {
        type: 'minio',
        endPoint: minio.endPoint,
        port: minio.port,
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
        bucket: 'secrets',
        videoUrl: 'playback',
      },
    });
    // The whole config logged by mistake must not leak either.
    const logger = createLogger({ level: 'debug' }, sink);
    logger.info({ config }, 'config loaded');
    const recorder = await Recorder.start(config, { logger, uploadRetry: { retryBaseMs: 100 } });
    const txTime = txTimeFor(Math.floor(Date.now() / 1000) + 600);
    const txSecret = txSecretFor(PUSH_KEY, 'sec1', txTime);
    try {
      const good = publish(
        `rtmp://127.0.0.1:${recorder.rtmpPort}/live/sec1?txSecret=${txSecret}&txTime=${txTime}`,
        {
          seconds: 3,
        },
      );
      expect(await good.exited).toBe(0);
      // A refused push with a wrong signature is logged with its reason, not its query.
      const bad = publish(
        `rtmp://127.0.0.1:${recorder.rtmpPort}/live/sec2?txSecret=${'f'.repeat(32)}&txTime=${txTime}`,
        {
          seconds: 2,
        },
      );
      await bad.exited;
      const [stored] = await receiver.waitFor(
        (b) => b.event_type === 100 && b.stream_id === 'sec1',
        1,
        60_000,
      );
      // A viewer's call, a signed play and an unsigned one are logged without the token or the key.
      const api = await fetch(`http://127.0.0.1:${recorder.httpPort}/api/streams`, {
        headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
      });
      expect(api.status).toBe(200);
      expect((await fetch(String(stored!.video_url))).status).toBe(200);
      expect((await fetch(String(stored!.video_url).split('?')[0]!)).status).toBe(403);
    } finally {
      await recorder.stop();
    }
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(20);
    // One `component` per line.
    expect(lines.filter((l) => l.split('"component":').length > 2)).toEqual([]);
    // A stored object's key is no secret: `file stored` names it.
    const stored = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'file stored');
    expect(stored.length).toBeGreaterThan(0);
    expect(String(stored[0]!.key)).toMatch(/^live\/sec1_.*\.mp4$/);
    expect(text).toContain('publish refused');
    for (const secret of [
      PUSH_KEY,
      BACKUP_KEY,
      CALLBACK_KEY,
      API_SECRET,
      ADMIN_TOKEN,
      VIEWER_TOKEN,
      PLAYBACK_KEY,
      minio.secretKey,
      txSecret,
      'f'.repeat(32),
    ]) {
      expect(text, `a log line holds ${secret}`).not.toContain(secret);
    }
  });
});
