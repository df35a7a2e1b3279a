import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface SoakReport {
  slots: number;
  formats: string[];
  load: { publishes: number; errors: unknown[] };
  frames: {
    pushed: { video: number; audio: number };
    lost: Record<string, { video: number; audio: number }>;
  };
  completeness: {
    complete: boolean;
    event100: number;
    filesOnDisk: number;
    event1: number;
    event0: number;
    recordEnded: number;
  };
  rss: { samples: number; maxMiB: number };
  perStream: { stream: string; pushedVideo: number; pushedAudio: number }[];
}

describe('soak script, small', () => {
  let out: string;
  let report: SoakReport;
  let exitCode = 0;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'recorder-soak-test-'));
    // 2 slots for 20 s, in two shifts of 10 s: fresh stream names, so a second round of publishes.
    const args = ['--import', 'tsx', 'scripts/soak.mjs', '--slots', '2', '--minutes', '0.34'];
    args.push('--shift-minutes', '0.17', '--sample-seconds', '1', '--out', out);
    let stderr = '';
    await run(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }).catch(
      (err: { code?: number; stderr?: string }) => {
        exitCode = err.code ?? -1;
        stderr = err.stderr ?? '';
      },
    );
    const text = await readFile(join(out, 'soak-report.json'), 'utf8').catch(() => {
      throw new Error(`the soak wrote no report (exit ${exitCode}): ${stderr.slice(-2000)}`);
    });
    report = JSON.parse(text) as SoakReport;
  }, 150_000);

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('pushes every slot in every shift without a load error', () => {
    expect(report.load.publishes).toBe(4);
    expect(report.load.errors).toEqual([]);
    for (const s of report.perStream) {
      expect(s.pushedVideo).toBeGreaterThan(0);
      expect(s.pushedAudio).toBeGreaterThan(0);
    }
  });

  it('finds every pushed frame in the recorded HLS and MP4 files', () => {
    expect(report.frames.pushed.video).toBeGreaterThan(0);
    expect(report.frames.lost).toEqual({ hls: { video: 0, audio: 0 }, mp4: { video: 0, audio: 0 } });
  });

  it('has every file announced by event 100, and events 1/0 and 332 record_ended for each publish', () => {
    const c = report.completeness;
    expect(c.complete).toBe(true);
    expect(c.event100).toBe(report.load.publishes * report.formats.length);
    expect(c.filesOnDisk).toBe(c.event100);
    expect(c.event1).toBe(report.load.publishes);
    expect(c.event0).toBe(report.load.publishes);
    expect(c.recordEnded).toBe(report.load.publishes);
  });

  it('samples the recorder process tree RSS and exits 0', () => {
    expect(report.rss.samples).toBeGreaterThan(5);
    expect(report.rss.maxMiB).toBeGreaterThan(0);
    expect(exitCode).toBe(0);
  });
});
