import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/chain.js';
import { txSecretFor, txTimeFor } from '../../src/auth/tx-secret.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { eventually, publish, startRecorder, type TestRecorder } from '../helpers/recorder.js';

const run = promisify(execFile);
const CLI = resolve('dist/src/cli.js');
const OPS = 'ops-admin-token-0123456789';
const AUDITOR = 'auditor-admin-token-0123456789';
const VIEWER = 'viewer-token-0123456789abc';
const PUSH_KEY = 'push-auth-key-secret-1';
const CALLBACK_KEY = 'callback-sign-key-secret';
const PLAYBACK_KEY = 'PlaybackKey42';
const IM_TOKEN = 'im-callback-token-secret';
const TC3 = { secretId: 'AKIDaudittest', secretKey: 'tc3-secret-key-for-audit' };
const SECRETS = [OPS, AUDITOR, VIEWER, PUSH_KEY, CALLBACK_KEY, PLAYBACK_KEY, IM_TOKEN, TC3.secretKey];

let receiver: CallbackReceiver;
let rec: TestRecorder;
let entries: AuditEntry[];
let configFile: string;
let txSecret: string;
const base = () => `http://127.0.0.1:${rec.recorder.httpPort}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** `recorder audit <args>` on the test's config; its exit code and output. */
async function audit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'audit', ...args, '--config', configFile]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const auditFiles = async () => {
  const dir = join(rec.dataDir, '.audit', 'node-1');
  return (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).map((f) => join(dir, f));
};
const of = (action: string) => entries.filter((e) => e.action === action);

describe('the audit trail', () => {
  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    rec = await startRecorder({
      record: { formats: ['hls', 'mp4'] },
      callback: { url: receiver.url, key: CALLBACK_KEY },
      api: {
        tokens: [
          { name: 'ops', token: OPS, role: 'admin' },
          { name: 'auditor', token: AUDITOR, role: 'admin' },
          { name: 'wallboard', token: VIEWER, role: 'viewer' },
        ],
        credentials: [TC3],
      },
      auth: { publish: { enabled: true, key: PUSH_KEY } },
      playback: { key: PLAYBACK_KEY },
      im: { callbackToken: IM_TOKEN },
      cluster: { nodeId: 'node-1' },
    });
    configFile = join(rec.dataDir, '..', `${rec.dataDir.split('/').at(-1)}.json`);
    await writeFile(configFile, JSON.stringify({ dataDir: rec.dataDir, cluster: { nodeId: 'node-1' } }));

    const txTime = txTimeFor(Date.now() / 1000 + 3600);
    txSecret = txSecretFor(PUSH_KEY, 'audited', txTime);
    const pushed = publish(rec.rtmpUrl('audited', `txSecret=${txSecret}&txTime=${txTime}`), { seconds: 4 });
    const refused = publish(rec.rtmpUrl('forged', `txSecret=${'0'.repeat(32)}&txTime=${txTime}`), {
      seconds: 2,
    });
    await Promise.all([pushed.exited, refused.exited]);
    await eventually(() => rec.recorder.manager.sessions.length === 0, 30_000, 'the recording to end');
    await rec.files();
    const hls = (await receiver.waitFor((b) => b.file_format === 'hls'))[0]!;
    const mp4 = (await receiver.waitFor((b) => b.file_format === 'mp4'))[0]!;

    // A console login by the viewer, and one refused; the viewer lists (URLs are issued) and plays the MP4.
    const login = await fetch(`${base()}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: VIEWER }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const wrong = await fetch(`${base()}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'not-a-token-at-all' }),
    });
    expect(wrong.status).toBe(401);
    const listed = (await (await fetch(`${base()}/api/recordings`, { headers: { cookie } })).json()) as {
      recordings: { key: string; url: string }[];
    };
    const mp4Url = listed.recordings.find((r) => r.key.endsWith('.mp4'))!.url;
    expect((await fetch(mp4Url, { headers: { cookie } })).status).toBe(200);

    // Two admins change things: ops pins the HLS recording, auditor deletes the MP4.
    const [hlsEntry] = await rec.recorder.mediaIndex.get([String(hls.file_id)]);
    const pinned = await fetch(`${base()}/api/media/expiry`, {
      method: 'PUT',
      headers: { ...bearer(OPS), 'content-type': 'application/json' },
      body: JSON.stringify({ key: hlsEntry!.key, expiresAt: null }),
    });
    expect(pinned.status).toBe(200);
    const deleted = await fetch(`${base()}/api/recordings/${String(mp4.file_id)}`, {
      method: 'DELETE',
      headers: bearer(AUDITOR),
    });
    expect(deleted.status).toBe(200);
    // A viewer may list recordings but not read the audit trail.
    expect((await fetch(`${base()}/api/audit`, { headers: bearer(VIEWER) })).status).toBe(403);
    const answer = (await (await fetch(`${base()}/api/audit`, { headers: bearer(OPS) })).json()) as {
      entries: AuditEntry[];
    };
    entries = answer.entries;
  }, 90_000);

  afterAll(async () => {
    await rec?.recorder.stop().catch(() => undefined);
    await rm(rec.dataDir, { recursive: true, force: true });
    await rm(configFile, { force: true });
    await receiver?.close();
  });

  it('records publishes, recordings, stored objects and files, callbacks, logins, URLs issued and files played', () => {
    expect(of('publish.accepted').map((e) => [e.subject, e.who, e.from])).toEqual([
      ['live/audited', 'publisher', expect.stringMatching(/127\.0\.0\.1/)],
    ]);
    const refused = of('publish.refused');
    expect(refused.map((e) => e.subject)).toEqual(['live/forged']);
    expect(String(refused[0]!.detail!.reason)).toMatch(/txSecret|auth/i);
    expect(of('recording.started').map((e) => e.subject)).toEqual(['live/audited']);
    expect(of('recording.ended').map((e) => e.subject)).toEqual(['live/audited']);
    expect(
      of('file.stored')
        .map((e) => e.detail!.format)
        .sort(),
    ).toEqual(['hls', 'mp4']);
    expect(of('callback.delivered').length).toBeGreaterThanOrEqual(3);
    expect(of('console.login').map((e) => e.who)).toEqual(['wallboard']);
    expect(of('console.login_refused')).toHaveLength(1);
    const issued = of('playback.url_issued').filter(
      (e) => e.who === 'wallboard' && /\.(m3u8|mp4)$/.test(String(e.subject)),
    );
    expect(issued.map((e) => e.subject).sort()).toEqual(
      of('file.stored')
        .map((e) => e.subject)
        .sort(),
    );
    // The console's viewing; the recorder's own reads for thumbnails are there too, as a viewer on loopback.
    const served = of('playback.served').filter((e) => e.detail!.console);
    expect(served.map((e) => e.who)).toEqual(['wallboard']);
    expect(served[0]!.subject).toMatch(/\.mp4$/);
  });

  it('the object hashes are the stored bytes’ SHA-256', async () => {
    const stored = of('object.stored').filter((e) => String(e.subject).endsWith('.ts'));
    expect(stored.length).toBeGreaterThan(0);
    for (const e of stored) {
      const bytes = await readFile(join(rec.dataDir, String(e.subject)));
      expect(e.detail!.sha256, String(e.subject)).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(e.detail!.size).toBe(bytes.length);
    }
  });

  it('attributes each change to the token that made it', () => {
    const changes = of('api.change').map((e) => [e.who, e.detail!.method, e.subject, e.detail!.status]);
    expect(changes).toEqual([
      ['ops', 'PUT', '/api/media/expiry', 200],
      ['auditor', 'DELETE', expect.stringMatching(/^\/api\/recordings\//), 200],
    ]);
    const deletions = of('object.deleted').filter((e) => e.who === 'auditor');
    expect(deletions.map((e) => e.subject)).toContainEqual(expect.stringMatching(/\.mp4$/));
    expect(of('object.expiry').every((e) => e.who === 'ops')).toBe(true);
  });

  it('holds no secret: no token, key or push signature appears in it', async () => {
    const text = (await Promise.all((await auditFiles()).map((f) => readFile(f, 'utf8')))).join('\n');
    expect(text.length).toBeGreaterThan(1000);
    for (const secret of [...SECRETS, txSecret])
      expect(text, 'a secret in the audit trail').not.toContain(secret);
  });

  it('`recorder audit verify` passes; an edited line, a deleted line and a changed object are each found and located', async () => {
    await rec.recorder.stop();
    const ok = await audit('verify', '--objects');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, objects: { changed: [], missing: [] } });

    const [file] = await auditFiles();
    const original = await readFile(file!, 'utf8');
    const lines = original.split('\n');
    const day = file!.split('/').at(-1)!;

    // Line 5 says someone else did it.
    await writeFile(
      file!,
      lines.map((l, i) => (i === 4 ? l.replace(/"who":"[^"]*"/, '"who":"nobody"') : l)).join('\n'),
    );
    const edited = await audit('verify');
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain(`broken: node-1/${day}:5 `);
    expect(edited.stderr).toContain('changed');

    // Line 5 is gone.
    await writeFile(file!, lines.filter((_, i) => i !== 4).join('\n'));
    const removed = await audit('verify');
    expect(removed.code).toBe(1);
    expect(removed.stderr).toMatch(new RegExp(`broken: node-1/${day}:5 .*entries 4\\.\\.4 are missing`));

    // The chain whole again, and a stored segment changed on disk.
    await writeFile(file!, original);
    const segment = of('object.stored').find((e) => String(e.subject).endsWith('.ts'))!;
    await appendFile(join(rec.dataDir, String(segment.subject)), 'x');
    const changed = await audit('verify', '--objects');
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain(`changed object: ${String(segment.subject)}`);
    expect((await audit('verify')).code).toBe(0);
  });

  it('`recorder audit export --stream` gives one stream’s entries', async () => {
    const exported = await audit('export', '--stream', 'live/forged');
    expect(exported.code).toBe(0);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(lines.map((e) => e.action)).toEqual(['publish.refused']);
  });
});
