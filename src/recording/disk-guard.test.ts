import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import {
  DiskGuard,
  diskFullReason,
  diskLimits,
  freeBytesOf,
  nextDiskState,
  type DiskState,
} from './disk-guard.js';

const MIB = 1024 * 1024;
const limits = diskLimits(100 * MIB);

describe('disk state', () => {
  it('resumes at 1.5 × the reserve', () => {
    expect(diskLimits(100 * MIB)).toEqual({ minFreeBytes: 100 * MIB, resumeFreeBytes: 150 * MIB });
    expect(diskLimits(3)).toEqual({ minFreeBytes: 3, resumeFreeBytes: 5 });
    expect(diskLimits(0)).toEqual({ minFreeBytes: 0, resumeFreeBytes: 0 });
  });

  it.each<{ previous: DiskState; free: number; next: DiskState }>([
    { previous: 'ok', free: 0, next: 'full' },
    { previous: 'ok', free: 100 * MIB - 1, next: 'full' },
    { previous: 'ok', free: 100 * MIB, next: 'ok' },
    { previous: 'ok', free: 120 * MIB, next: 'ok' },
    { previous: 'full', free: 100 * MIB, next: 'full' },
    { previous: 'full', free: 150 * MIB - 1, next: 'full' },
    { previous: 'full', free: 150 * MIB, next: 'ok' },
    { previous: 'full', free: 10_000 * MIB, next: 'ok' },
  ])('$previous with $free bytes free: $next', ({ previous, free, next }) => {
    expect(nextDiskState(previous, free, limits)).toBe(next);
  });

  it('a zero reserve never counts the disk full', () => {
    expect(nextDiskState('ok', 0, diskLimits(0))).toBe('ok');
    expect(nextDiskState('full', 0, diskLimits(0))).toBe('ok');
  });

  it('names the free bytes, the reserve and when publishes come back', () => {
    expect(diskFullReason(5, diskLimits(10))).toBe(
      'disk full: 5 bytes free in dataDir, below record.minFreeBytes (10); publishes are accepted again from 15 bytes free',
    );
  });
});

describe('DiskGuard', () => {
  const logger = createLogger({ level: 'silent' });

  it('refuses while full, reports each change once, and accepts again past the resume limit', async () => {
    let free = 200 * MIB;
    const guard = new DiskGuard({ dir: '/data', minFreeBytes: 100 * MIB, logger, measure: async () => free });
    const changes: [DiskState, number][] = [];
    const refused: string[] = [];
    guard.on('disk', (state, bytes) => changes.push([state, bytes]));
    guard.on('refused', (app, stream) => refused.push(`${app}/${stream}`));
    await guard.start();
    try {
      expect(guard.refusal('live', 'a')).toBeUndefined();
      free = 50 * MIB;
      expect(await guard.check()).toBe('full');
      expect(await guard.check()).toBe('full');
      expect(guard.freeBytes).toBe(50 * MIB);
      expect(guard.refusal('live', 'b')).toMatch(/^disk full: 52428800 bytes free/);
      free = 120 * MIB;
      expect(await guard.check()).toBe('full');
      free = 160 * MIB;
      expect(await guard.check()).toBe('ok');
      expect(guard.refusal('live', 'c')).toBeUndefined();
      expect(changes).toEqual([
        ['ok', 200 * MIB],
        ['full', 50 * MIB],
        ['ok', 160 * MIB],
      ]);
      expect(refused).toEqual(['live/b']);
    } finally {
      guard.close();
    }
  });

  it('keeps its state when free space cannot be measured', async () => {
    let fail = false;
    const guard = new DiskGuard({
      dir: '/data',
      minFreeBytes: 10,
      logger,
      measure: async () => {
        if (fail) throw new Error('EIO');
        return 1;
      },
    });
    await guard.start();
    guard.close();
    expect(guard.state).toBe('full');
    fail = true;
    expect(await guard.check()).toBe('full');
    expect(guard.freeBytes).toBe(1);
  });

  it('measures a real directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'disk-guard-'));
    try {
      const free = await freeBytesOf(dir);
      expect(Number.isInteger(free)).toBe(true);
      expect(free).toBeGreaterThan(0);
      await expect(freeBytesOf(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('record.minFreeBytes', () => {
  it('defaults to 256 MiB and takes 0 (no reserve)', () => {
    expect(parseConfig({}).record.minFreeBytes).toBe(256 * MIB);
    expect(parseConfig({ record: { minFreeBytes: 0 } }).record.minFreeBytes).toBe(0);
  });

  it.each([-1, 1.5, 2 ** 40 + 1])('refuses %s, naming the key and the range', (bytes) => {
    expect(() => parseConfig({ record: { minFreeBytes: bytes } })).toThrow(ConfigError);
    expect(() => parseConfig({ record: { minFreeBytes: bytes } })).toThrow(
      /record\.minFreeBytes.*must be an integer in 0\.\.1099511627776/,
    );
  });
});
