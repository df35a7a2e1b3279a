import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface Side {
  cpuPerMix: number;
  outputFps: number;
  lostFrames: number;
  duplicatedFrames: number;
  lagGrowthMs: number;
  realTime: boolean;
  pssPerMixMiB: number;
}

interface Row {
  inputs: number;
  mixes: number;
  recorder: Side & { mixFfmpegCpuPerMix: number; recorderProcessCpu: number; idleCpu: number };
  bare: Side;
  cpuRatio: number;
  mixFfmpegRatio: number;
}

// The bench's smoke case: 2 mixes of 2 inputs for 10 s. Its report must be sane; no speed is asserted.
describe('bench-mix --smoke', () => {
  let out: string;
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('measures the recorder’s mixes and the bare ffmpeg command, and writes the report and table', async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-mix-'));
    await run(process.execPath, ['--import', 'tsx', 'scripts/bench-mix.mjs', '--smoke', '--out', out], {
      timeout: 180_000,
    });
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { rows: Row[] };
    expect(report.rows).toHaveLength(1);
    const [row] = report.rows;
    expect(row).toMatchObject({ inputs: 2, mixes: 2 });
    const { recorder, bare } = row!;
    expect(recorder.cpuPerMix).toBeGreaterThan(0);
    expect(recorder.mixFfmpegCpuPerMix).toBeGreaterThan(0);
    // The mix's ffmpeg is part of the recorder's tree, whose idle cost is left out of the whole.
    expect(recorder.mixFfmpegCpuPerMix).toBeLessThan(recorder.cpuPerMix + recorder.idleCpu + 1);
    expect(recorder.recorderProcessCpu).toBeGreaterThan(0);
    expect(bare.cpuPerMix).toBeGreaterThan(0);
    expect(row!.cpuRatio).toBeCloseTo(recorder.cpuPerMix / bare.cpuPerMix, 1);
    expect(row!.mixFfmpegRatio).toBeCloseTo(recorder.mixFfmpegCpuPerMix / bare.cpuPerMix, 1);
    for (const side of [recorder, bare]) {
      // Frames came out of both, at about the configured 15 fps, read from the MP4s they wrote.
      expect(side.outputFps).toBeGreaterThan(5);
      expect(side.outputFps).toBeLessThan(20);
      expect(side.lostFrames).toBeGreaterThanOrEqual(0);
      expect(side.duplicatedFrames).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(side.lagGrowthMs)).toBe(true);
      expect(typeof side.realTime).toBe('boolean');
      expect(side.pssPerMixMiB).toBeGreaterThan(1);
    }
    expect(await readFile(join(out, 'table.md'), 'utf8')).toMatch(/^\| inputs \| output \| mixes/);
    expect(await readFile(join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  }, 200_000);

  it('refuses an out-of-range option with exit 2, naming it', async () => {
    const failed = await run(process.execPath, [
      '--import',
      'tsx',
      'scripts/bench-mix.mjs',
      '--inputs',
      '17',
    ]).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('--inputs (1..16)');
  });
});
