import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirLockedError, LOCK_FILE, lockDir } from './dir-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recorder-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lockPath = () => join(dir, LOCK_FILE);
const writeLock = (holder: object) => writeFile(lockPath(), `${JSON.stringify(holder)}\n`);
/** A pid that has just exited: nothing runs under it. */
const deadPid = () => spawnSync('true').pid;

describe('lockDir', () => {
  it('writes this process as the holder and removes the file on release', async () => {
    const lock = await lockDir(dir);
    const holder = JSON.parse(await readFile(lockPath(), 'utf8')) as { pid: number; host: string };
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
    expect(lock.takenOver).toBeUndefined();
    await lock.release();
    await lock.release();
    await expect(stat(lockPath())).rejects.toThrow(/ENOENT/);
  });

  it('refuses a second lock in the same process, naming the holder', async () => {
    const lock = await lockDir(dir);
    const second = lockDir(dir);
    await expect(second).rejects.toBeInstanceOf(DirLockedError);
    await expect(second).rejects.toThrow(`pid ${process.pid} on ${hostname()}`);
    await lock.release();
    await (await lockDir(dir)).release();
  });

  it('refuses a lock held by another live process', async () => {
    // The test runner's parent is alive for the whole test.
    await writeLock({ pid: process.ppid, host: hostname(), since: Date.now() });
    await expect(lockDir(dir)).rejects.toThrow(`pid ${process.ppid}`);
  });

  it('takes over a lock whose holder is dead, reporting its last heartbeat', async () => {
    const pid = deadPid();
    await writeLock({ pid, host: hostname(), since: Date.now() - 60_000 });
    const beat = new Date(Date.now() - 5_000);
    await utimes(lockPath(), beat, beat);
    const lock = await lockDir(dir);
    expect(lock.takenOver?.holder?.pid).toBe(pid);
    expect(Math.abs(lock.takenOver!.lastAliveMs - beat.getTime())).toBeLessThan(1_000);
    expect(JSON.parse(await readFile(lockPath(), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (a different start time)', async () => {
    await writeLock({ pid: process.ppid, host: hostname(), since: Date.now(), procStart: '1' });
    const lock = await lockDir(dir);
    expect(lock.takenOver?.holder?.pid).toBe(process.ppid);
    await lock.release();
  });

  it('takes over a lock naming this pid that this process does not hold (a restarted container pid 1)', async () => {
    await writeLock({ pid: process.pid, host: hostname(), since: Date.now() - 1000 });
    const lock = await lockDir(dir);
    expect(lock.takenOver?.holder?.pid).toBe(process.pid);
    await lock.release();
  });

  it('a holder on another host is live while its heartbeat is fresh', async () => {
    await writeLock({ pid: 1, host: 'other-host', since: Date.now() });
    await expect(lockDir(dir, { foreignStaleMs: 10_000 })).rejects.toThrow('on other-host');
    const old = new Date(Date.now() - 20_000);
    await utimes(lockPath(), old, old);
    const lock = await lockDir(dir, { foreignStaleMs: 10_000 });
    expect(lock.takenOver?.holder?.host).toBe('other-host');
    await lock.release();
  });

  it('the heartbeat keeps the lock file fresh, and a release never removes a lock taken over meanwhile', async () => {
    const lock = await lockDir(dir, { heartbeatMs: 20 });
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPath(), old, old);
    await new Promise((r) => setTimeout(r, 100));
    expect(Date.now() - (await stat(lockPath())).mtimeMs).toBeLessThan(5_000);
    await writeLock({ pid: process.ppid, host: hostname(), since: Date.now() });
    await lock.release();
    expect(JSON.parse(await readFile(lockPath(), 'utf8'))).toMatchObject({ pid: process.ppid });
  });

  it('of three processes taking over one stale lock at once, exactly one wins', async () => {
    await writeLock({ pid: deadPid(), host: hostname(), since: 0 });
    const script = [
      `import { lockDir } from ${JSON.stringify(new URL('./dir-lock.ts', import.meta.url).pathname)};`,
      `try { const l = await lockDir(${JSON.stringify(dir)}); console.log('won');`,
      `await new Promise((r) => setTimeout(r, 1500)); await l.release(); }`,
      `catch (e) { console.log(e.code); }`,
    ].join('\n');
    const runs = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<string>((done) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
            let out = '';
            child.stdout.on('data', (c: Buffer) => (out += c.toString()));
            child.on('close', () => done(out.trim()));
          }),
      ),
    );
    expect(runs.sort()).toEqual(['DATA_DIR_LOCKED', 'DATA_DIR_LOCKED', 'won']);
  });
});
