import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { FileAuditStore, type AuditStore } from '../../src/audit/audit-store.js';
import { AuditedStore } from '../../src/audit/audited-store.js';
import { anchorKey } from '../../src/audit/index.js';
import { chainEntry, type AuditEntry } from '../../src/audit/chain.js';
import { runAs } from '../../src/audit/context.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { RedisAuditStore } from '../../src/cluster/redis-audit.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { silentLogger } from '../../src/shared/logger.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
let link: RedisLink;
const dirs: string[] = [];
beforeAll(async () => {
  redis = await startRedis();
  link = await RedisLink.connect({ url: redis.url, logger: silentLogger() });
});
afterAll(async () => {
  await link?.close();
  await redis?.destroy();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  dirs.push(dir);
  return dir;
}

const backends: { name: string; open(): Promise<AuditStore> }[] = [
  { name: 'file', open: async () => new FileAuditStore(await tempDir()) },
  {
    name: 'redis',
    open: async () => new RedisAuditStore(link.client, `a-${randomBytes(3).toString('hex')}:`),
  },
];

/** A clock that moves as told. */
function clock(startMs: number) {
  let now = startMs;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describe.each(backends)('AuditStore conformance: $name', ({ open }) => {
  it('keeps each node’s days and lines in order', async () => {
    const store = await open();
    await store.append('node-b', '2026-12-02', ['b1']);
    await store.append('node-a', '2026-12-03', ['a3']);
    await store.append('node-a', '2026-12-02', ['a1', 'a2']);
    await store.append('node-a', '2026-12-02', ['a2b']);
    expect(await store.nodes()).toEqual(['node-a', 'node-b']);
    expect(await store.days('node-a')).toEqual(['2026-12-02', '2026-12-03']);
    expect(await store.read('node-a', '2026-12-02')).toEqual(['a1', 'a2', 'a2b']);
    expect(await store.read('node-a', '2026-11-30')).toEqual([]);
    expect(await store.days('node-c')).toEqual([]);
  });

  it('a chain recorded across a day change and a restart verifies whole, the actor of each entry kept', async () => {
    const store = await open();
    const time = clock(Date.UTC(2026, 11, 2, 23, 59, 59));
    const first = await AuditLog.open(store, 'node-a', silentLogger(), { now: time.now });
    void first.record({ action: 'recorder.started' });
    await runAs({ who: 'ops', from: '203.0.113.9' }, () =>
      first.record({ action: 'api.change', subject: '/api/x' }),
    );
    time.advance(2000);
    await first.record({ action: 'publish.accepted', who: 'publisher', subject: 'live/s1' });
    await first.close();
    // The next start goes on from the last entry.
    const second = await AuditLog.open(store, 'node-a', silentLogger(), { now: time.now });
    await second.record({ action: 'recording.started', subject: 'live/s1' });
    await second.close();
    expect(await store.days('node-a')).toEqual(['2026-12-02', '2026-12-03']);
    const entries = [
      ...(await store.read('node-a', '2026-12-02')),
      ...(await store.read('node-a', '2026-12-03')),
    ].map((l) => JSON.parse(l) as AuditEntry);
    expect(entries.map((e) => [e.seq, e.who, e.action])).toEqual([
      [0, 'recorder', 'recorder.started'],
      [1, 'ops', 'api.change'],
      [2, 'publisher', 'publish.accepted'],
      [3, 'recorder', 'recording.started'],
    ]);
    expect(entries[1]!.from).toBe('203.0.113.9');
    const report = await verifyAudit(store);
    expect(report).toMatchObject({ ok: true, breaks: [] });
    expect(report.nodes).toEqual([
      { node: 'node-a', days: 2, entries: 4, head: { seq: 3, hash: entries[3]!.hash } },
    ]);
  });

  it('every node’s chain is verified; one node’s entries passed off as another’s are refused there, and only there', async () => {
    const store = await open();
    for (const node of ['node-a', 'node-b']) {
      const log = await AuditLog.open(store, node, silentLogger());
      for (let i = 0; i < 4; i++) void log.record({ action: 'api.change', subject: `/api/${node}/${i}` });
      await log.close();
    }
    expect((await verifyAudit(store)).nodes.map((n) => [n.node, n.entries])).toEqual([
      ['node-a', 4],
      ['node-b', 4],
    ]);
    // node-b's chain, copied as node-c's.
    const day = (await store.days('node-b'))[0]!;
    await store.append('node-c', day, await store.read('node-b', day));
    const report = await verifyAudit(store);
    expect(report.ok).toBe(false);
    expect(report.breaks).toHaveLength(4);
    expect(report.breaks.every((b) => b.node === 'node-c' && /of node node-b/.test(b.reason))).toBe(true);
  });
});

describe('objects and anchors', () => {
  it('an object changed after it was stored is found by its hash; one deleted since is not asked for', async () => {
    const dir = await tempDir();
    const audit = await AuditLog.open(new FileAuditStore(join(dir, '.audit')), 'node-a', silentLogger());
    const objects = new AuditedStore(new LocalStore({ dataDir: dir, publicBaseUrl: () => '' }), (f) => {
      void audit.record(f);
    });
    await objects.putBuffer(Buffer.from('segment one'), 'live/s1_0.ts');
    await objects.putBuffer(Buffer.from('segment two'), 'live/s1_1.ts');
    await objects.putBuffer(Buffer.from('a live playlist'), 'live/s1.live.m3u8');
    await objects.delete('live/s1.live.m3u8');
    await audit.close();
    const store = new FileAuditStore(join(dir, '.audit'));
    expect(await verifyAudit(store, { objects })).toMatchObject({
      ok: true,
      objects: { checked: 2, changed: [], missing: [] },
    });
    // Changed in place, as an operator with disk access could.
    const inner = new LocalStore({ dataDir: dir, publicBaseUrl: () => '' });
    await inner.putBuffer(Buffer.from('segment 2wo'), 'live/s1_1.ts');
    await inner.delete('live/s1_0.ts');
    const report = await verifyAudit(store, { objects: inner });
    expect(report.ok).toBe(false);
    expect(report.objects!.changed.map((c) => c.key)).toEqual(['live/s1_1.ts']);
    expect(report.objects!.missing.map((c) => c.key)).toEqual(['live/s1_0.ts']);
  });

  it('a chain rewritten whole (every hash made again) passes its own check, and the anchor written before finds it', async () => {
    const dir = await tempDir();
    const store = new FileAuditStore(join(dir, '.audit'));
    const objects = new LocalStore({ dataDir: dir, publicBaseUrl: () => '' });
    const audit = await AuditLog.open(store, 'node-a', silentLogger());
    for (const who of ['ops', 'ops', 'viewer'])
      void audit.record({ action: 'api.change', who, subject: '/api/media/expiry' });
    await audit.flush();
    const anchor = audit.anchor();
    await objects.putBuffer(Buffer.from(JSON.stringify(anchor)), anchorKey(anchor));
    await audit.close();
    expect(await verifyAudit(store, { anchors: objects })).toMatchObject({
      ok: true,
      anchors: { checked: 1, broken: [] },
    });

    // The operator rewrites entry 1 and re-links every entry after it.
    const day = (await store.days('node-a'))[0]!;
    const entries = (await store.read('node-a', day)).map((l) => JSON.parse(l) as AuditEntry);
    let prev = entries[0]!.hash;
    const rewritten = [JSON.stringify(entries[0])];
    for (const e of entries.slice(1)) {
      const again = chainEntry(
        { ...e, who: e.seq === 1 ? 'nobody' : e.who },
        { seq: e.seq, prev, node: e.node, at: new Date(e.at) },
      );
      rewritten.push(JSON.stringify(again));
      prev = again.hash;
    }
    const forgedDir = await tempDir();
    const forged = new FileAuditStore(forgedDir);
    await forged.append('node-a', day, rewritten);
    const report = await verifyAudit(forged, { anchors: objects });
    expect(report.breaks).toEqual([]);
    expect(report.ok).toBe(false);
    expect(report.anchors!.broken).toEqual([
      { node: 'node-a', seq: 2, reason: expect.stringMatching(/the chain was rewritten/) },
    ]);
  });
});
