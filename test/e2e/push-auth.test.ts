import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { FileFinisher } from '../../src/recording/file-finisher.js';
import { RecordingManager } from '../../src/recording/recording-manager.js';
import { createLogger } from '../../src/shared/logger.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const KEY = 'push-key-primary';
const BACKUP = 'push-key-backup';

// Signed independently of the code under test.
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const hexTime = (unixSeconds: number) => Math.floor(unixSeconds).toString(16).toUpperCase();
const inSeconds = (delta: number) => Math.floor(Date.now() / 1000) + delta;

/** A push query signed with `key` for `stream`, txTime written exactly as given. */
function signedQuery(key: string, stream: string, txTime: string): string {
  return `txSecret=${md5(key + stream + txTime)}&txTime=${txTime}`;
}

const ofStream = (stream: string) => (b: Record<string, unknown>) => b.stream_id === stream;
const recorded = (stream: string) => (b: Record<string, unknown>) =>
  b.stream_id === stream && b.event_type === 100;

describe('push authentication', () => {
  let receiver: CallbackReceiver;
  let rec: TestRecorder;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      auth: { publish: { enabled: true, key: KEY, backupKey: BACKUP } },
      record: { formats: ['mp4'] },
      callback: { url: receiver.url },
    });
  });
  afterAll(async () => {
    await rec?.stop();
    await receiver?.close();
  });

  /** Waits until no recording is left and every callback is delivered. */
  async function settled(): Promise<void> {
    await eventually(
      () => rec.recorder.manager.sessions.length === 0 && rec.recorder.outbox.pending().length === 0,
      30_000,
      'recordings to finish and callbacks to be delivered',
    );
  }

  const filesOf = async (stream: string) => (await rec.files()).filter((f) => f.startsWith(`${stream}_`));

  it('a push signed with the primary key records, and event 100 carries its query verbatim', async () => {
    const stream = 'signed_primary';
    const query = `${signedQuery(KEY, stream, hexTime(inSeconds(600)))}&userid=MQ==`;
    const publisher = publish(rec.rtmpUrl(stream, query), { seconds: 3 });
    expect(await publisher.exited).toBe(0);
    const [body] = await receiver.waitFor(recorded(stream));
    expect(body!.stream_param).toBe(query);
    expect(await filesOf(stream)).toHaveLength(1);
  });

  it('the backup key, lower-case hex, upper-case hex and decimal txTime are all accepted', async () => {
    const expiry = inSeconds(600);
    const pushes = [
      { stream: 'signed_backup', query: signedQuery(BACKUP, 'signed_backup', hexTime(expiry)) },
      { stream: 'signed_lower', query: signedQuery(KEY, 'signed_lower', hexTime(expiry).toLowerCase()) },
      { stream: 'signed_upper', query: signedQuery(KEY, 'signed_upper', hexTime(expiry)) },
      { stream: 'signed_decimal', query: signedQuery(KEY, 'signed_decimal', String(expiry)) },
    ];
    const codes = await Promise.all(
      pushes.map(({ stream, query }) => publish(rec.rtmpUrl(stream, query), { seconds: 3 }).exited),
    );
    expect(codes).toEqual(pushes.map(() => 0));
    for (const { stream } of pushes) {
      const [body] = await receiver.waitFor(recorded(stream));
      expect(body!.file_format, stream).toBe('mp4');
      expect(await filesOf(stream), stream).toHaveLength(1);
    }
  });

  it('expired, wrong-key and unsigned pushes are refused with no file and no callback; a recording alongside goes on', async () => {
    const good = 'alongside';
    const goodPublisher = publish(rec.rtmpUrl(good, signedQuery(KEY, good, hexTime(inSeconds(600)))), {
      seconds: 4,
    });
    const session = await eventually(
      () => {
        const s = rec.recorder.manager.sessionOf('live', good);
        return s?.state === 'recording' ? s : undefined;
      },
      30_000,
      `${good} recording`,
    );

    const refused = [
      // Genuinely signed, but its txTime passed a minute ago.
      { stream: 'refused_expired', query: signedQuery(KEY, 'refused_expired', hexTime(inSeconds(-60))) },
      {
        stream: 'refused_wrong_key',
        query: signedQuery('not-the-key', 'refused_wrong_key', hexTime(inSeconds(600))),
      },
      // A signature made for another stream does not carry over.
      { stream: 'refused_other_stream', query: signedQuery(KEY, good, hexTime(inSeconds(600))) },
      { stream: 'refused_unsigned', query: '' },
    ];
    const startedAt = Date.now();
    const results = await Promise.all(
      refused.map(async ({ stream, query }) => {
        const code = await publish(rec.rtmpUrl(stream, query), { seconds: 10 }).exited;
        return { stream, code, seconds: (Date.now() - startedAt) / 1000 };
      }),
    );
    for (const { stream, code, seconds } of results) {
      expect(code, stream).not.toBe(0);
      // Cut off at the publish command, long before the 10 s push would end.
      expect(seconds, stream).toBeLessThan(5);
      expect(rec.recorder.manager.sessionOf('live', stream), stream).toBeUndefined();
    }
    // The refusals did not touch the signed recording.
    expect(rec.recorder.manager.sessionOf('live', good)).toBe(session);
    expect(session.state).toBe('recording');

    expect(await goodPublisher.exited).toBe(0);
    expect(await session.done).toBe('completed');
    await receiver.waitFor(recorded(good));
    expect(await filesOf(good)).toHaveLength(1);

    await settled();
    for (const { stream } of refused) {
      expect(await filesOf(stream), stream).toEqual([]);
      expect(receiver.bodies.filter(ofStream(stream)), stream).toEqual([]);
    }
  });
});

describe('refused admission', () => {
  it('refuses before any recording exists and logs the reason without the txSecret', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      hooks: {
        streamWrite: (line) => {
          lines.push(line);
          return '';
        },
      },
    });
    const config = parseConfig({});
    const manager = new RecordingManager({
      record: config.record,
      dataDir: 'data',
      ffmpegPath: 'ffmpeg',
      // Never reached: a refused publish makes no recording.
      finisher: {} as FileFinisher,
      logger,
      publishAuth: { enabled: true, key: KEY, backupKey: '' },
      kick: () => {},
    });
    const secret = md5('not-the-key' + 'leaky' + hexTime(inSeconds(600)));
    const decision = manager.admit({
      connectionId: 'c1',
      app: 'live',
      stream: 'leaky',
      query: `txSecret=${secret}&txTime=${hexTime(inSeconds(600))}`,
      host: '127.0.0.1',
      remoteAddress: '127.0.0.1',
    });
    expect(decision).toMatchObject({ refuse: expect.stringContaining('mismatch') });
    expect(manager.sessions).toEqual([]);
    expect(manager.sessionOf('live', 'leaky')).toBeUndefined();

    const refusals = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(refusals).toMatchObject([{ msg: 'publish refused', reason: 'mismatch', stream: 'leaky' }]);
    expect(lines.join('\n')).not.toContain(secret);
    expect(JSON.stringify(decision)).not.toContain(secret);
  });
});
