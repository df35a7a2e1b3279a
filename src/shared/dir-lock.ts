import { mkdir, open, readFile, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, errorMessage } from './errors.js';
import type { Logger } from './logger.js';

/** The lock file's name inside the locked directory. */
export const LOCK_FILE = '.recorder.lock';

/** Who holds a directory lock, as written in the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Unix ms the holder took the lock. */
  since: number;
  /** The holder's start time in clock ticks after boot (Linux /proc), so a reused pid is not taken for it. */
  procStart?: string;
}

/** A stale lock this process took over: its holder is gone, last seen alive at `lastAliveMs`. */
export interface StaleLock {
  holder: LockHolder | undefined;
  /** The lock file's last heartbeat (its mtime): about when the holder died. */
  lastAliveMs: number;
}

/** A lock this process holds; `release()` is idempotent. */
export interface HeldLock {
  readonly path: string;
  readonly takenOver: StaleLock | undefined;
  release(): Promise<void>;
}

/** Another live recorder holds the directory. */
export class DirLockedError extends AppError {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      'DATA_DIR_LOCKED',
      `dataDir ${dir} is in use by another recorder: pid ${holder.pid} on ${holder.host}, since ` +
        `${new Date(holder.since).toISOString()} (lock file ${join(dir, LOCK_FILE)})`,
    );
  }
}

export interface DirLockOptions {
  logger?: Logger;
  /** How often the lock file's mtime is touched, the holder's proof of life (default 1 s). */
  heartbeatMs?: number;
  /** A holder on another host counts as dead once its heartbeat is this old (default 30 s). */
  foreignStaleMs?: number;
}

// Lock files this process holds or is taking: a second lock of one in the same process is refused too.
const claimed = new Set<string>();

/**
 * Takes an exclusive lock on `dir` (created if missing): a lock file with this process's pid. A lock whose
 * holder is dead (a kill -9, or a pid now used by another process) is taken over; a live holder is refused
 * with DirLockedError. Two processes taking over one stale lock at once are serialized by an atomic mkdir.
 */
export async function lockDir(dir: string, options: DirLockOptions = {}): Promise<HeldLock> {
  const path = join(dir, LOCK_FILE);
  if (claimed.has(path)) {
    const holder = await readHolder(path);
    throw new DirLockedError(
      dir,
      holder?.holder ?? { pid: process.pid, host: hostname(), since: Date.now() },
    );
  }
  claimed.add(path);
  try {
    return await takeLock(dir, path, options);
  } catch (err) {
    claimed.delete(path);
    throw err;
  }
}

async function takeLock(dir: string, path: string, options: DirLockOptions): Promise<HeldLock> {
  const me: LockHolder = { pid: process.pid, host: hostname(), since: Date.now() };
  const procStart = await procStartOf(process.pid);
  if (procStart) me.procStart = procStart;
  await mkdir(dir, { recursive: true });
  let takenOver: StaleLock | undefined;
  for (let attempt = 0; ; attempt++) {
    if (await createExclusive(path, me)) break;
    const seen = await readHolder(path);
    if (!seen) continue; // removed meanwhile: try again
    if (!(await isDead(seen, options.foreignStaleMs ?? 30_000))) {
      if (seen.holder) throw new DirLockedError(dir, seen.holder);
      // A lock file being written right now, or one cut short while its holder lives on: look again.
      if (attempt < 20) {
        await sleep(50);
        continue;
      }
      throw new DirLockedError(dir, { pid: 0, host: 'unknown', since: seen.mtimeMs });
    }
    const guard = `${path}.takeover`;
    try {
      await mkdir(guard);
    } catch {
      // Another process is taking it over: once it has, its lock is live and this one is refused.
      await clearStaleGuard(guard);
      await sleep(50);
      continue;
    }
    try {
      // Read again under the guard: only the stale file judged above is removed.
      const again = await readHolder(path);
      if (again && again.mtimeMs === seen.mtimeMs && sameHolder(again.holder, seen.holder)) {
        await unlink(path).catch(() => undefined);
        takenOver = { holder: seen.holder, lastAliveMs: seen.mtimeMs };
      }
    } finally {
      await rmdir(guard).catch(() => undefined);
    }
  }
  const log = options.logger?.child({ component: 'dir-lock' });
  if (takenOver)
    log?.warn({ dir, holder: takenOver.holder, lastAliveMs: takenOver.lastAliveMs }, 'stale lock taken over');
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch((err: unknown) =>
      log?.warn({ dir, err: errorMessage(err) }, 'cannot touch the lock file'),
    );
  }, options.heartbeatMs ?? 1_000);
  heartbeat.unref();
  let released: Promise<void> | undefined;
  return {
    path,
    takenOver,
    release: () =>
      (released ??= (async () => {
        clearInterval(heartbeat);
        claimed.delete(path);
        const current = await readHolder(path);
        // Never remove a lock another process took over meanwhile (this one was judged dead).
        if (current && sameHolder(current.holder, me)) await unlink(path).catch(() => undefined);
      })()),
  };
}

async function createExclusive(path: string, me: LockHolder): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(`${JSON.stringify(me)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** The lock file's holder (undefined when it cannot be read whole) and mtime; undefined when there is no file. */
async function readHolder(
  path: string,
): Promise<{ holder: LockHolder | undefined; mtimeMs: number } | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtimeMs)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (
      typeof parsed.pid === 'number' &&
      typeof parsed.host === 'string' &&
      typeof parsed.since === 'number'
    ) {
      return { holder: parsed as LockHolder, mtimeMs };
    }
  } catch {
    // torn or foreign content
  }
  return { holder: undefined, mtimeMs };
}

/** Whether a lock's holder is gone: its pid is dead or belongs to a newer process, or its heartbeat stopped. */
async function isDead(
  seen: { holder: LockHolder | undefined; mtimeMs: number },
  foreignStaleMs: number,
): Promise<boolean> {
  const { holder } = seen;
  const heartbeatStopped = Date.now() - seen.mtimeMs > foreignStaleMs;
  if (!holder) return heartbeatStopped;
  if (holder.host !== hostname()) return heartbeatStopped;
  // This process holds no lock of this path (lockDir refused that at once), so a lock naming its pid is from
  // an earlier life: a container's pid 1 restarts as pid 1.
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const start = await procStartOf(holder.pid);
  return holder.procStart !== undefined && start !== undefined && start !== holder.procStart;
}

function sameHolder(a: LockHolder | undefined, b: LockHolder | undefined): boolean {
  if (!a || !b) return a === b;
  return a.pid === b.pid && a.host === b.host && a.since === b.since && a.procStart === b.procStart;
}

/** A takeover guard left by a process that died taking over is removed after a while. */
async function clearStaleGuard(guard: string): Promise<void> {
  const info = await stat(guard).catch(() => undefined);
  if (info && Date.now() - info.mtimeMs > 10_000) await rmdir(guard).catch(() => undefined);
}

/** Field 22 of /proc/<pid>/stat: the process's start in clock ticks after boot; undefined off Linux. */
async function procStartOf(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count from its closing one.
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19];
}
