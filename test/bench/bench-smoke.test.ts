import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/run.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Runs the built CLI's bench and resolves with its exit code and output. */
function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['dist/src/cli.js', 'bench', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

describe('recorder bench', () => {
  it('benches 3 slots of the recorder for 10 s and writes a sane report and chart', async () => {
    const out = await mkdtemp(join(tmpdir(), 'recorder-bench-smoke-'));
    dirs.push(out);
    const run = await bench(['--slots', '3', '--duration', '10', '--target', 'recorder', '--out', out]);
    expect(run.code, run.stderr).toBe(0);

    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as BenchReport;
    expect(report.steps).toHaveLength(1);
    const step = report.steps[0]!;
    expect(step.target).toBe('recorder');
    expect(step.slots).toBe(3);
    expect(step.published).toBe(3);
    expect(step.publishErrors).toBe(0);
    expect(step.pushed.video).toBeGreaterThan(0);
    expect(step.pushed.audio).toBeGreaterThan(0);
    // Every frame pushed is in the HLS segments and in the MP4.
    expect(step.outputs.map((o) => o.output).sort()).toEqual(['hls', 'mp4']);
    for (const output of step.outputs) {
      expect(output.found, output.output).toEqual(step.pushed);
      expect(output.lost, output.output).toEqual({ video: 0, audio: 0 });
    }
    expect(step.lostFrames).toBe(0);
    // The tree is the recorder and one ffmpeg per slot.
    expect(step.processes).toBeGreaterThanOrEqual(4);
    expect(step.cpuPercent).toBeGreaterThan(0);
    expect(step.rssMiB).toBeGreaterThan(0);
    expect(step.pssMiB).toBeGreaterThan(0);
    expect(step.childrenRssMiB).toBeGreaterThan(0);
    expect(step.measuredSeconds).toBeGreaterThan(0);
    expect(step.segmentLagMs.count).toBeGreaterThan(0);
    // One MP4 and one HLS callback per stream, each after its unpublish.
    expect(step.callbacksMissing).toBe(0);
    expect(step.callbackMs.mp4!.count).toBe(3);
    expect(step.callbackMs.hls!.count).toBe(3);
    expect(step.callbackMs.mp4!.p50).toBeGreaterThan(0);

    const svg = await readFile(join(out, 'slots.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('recorder');
    expect(run.stdout).toMatch(/^target\s+slots/m);
    expect(run.stdout).toMatch(/^recorder\s+3\s/m);
  });

  it('refuses an option out of range with exit code 2, naming it', async () => {
    const run = await bench(['--slots', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--slots must be an integer in 1..5000');
  });
});
