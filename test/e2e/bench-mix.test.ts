import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface Row {
  inputs: number;
  mixes: number;
  recorder: { cpuPerMix: number; recorderProcessCpu: number; outputFps: number; pssPerMixMiB: number };
  bare: { cpuPerMix: number; outputFps: number };
  cpuRatio: number;
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
    expect(row!.recorder.cpuPerMix).toBeGreaterThan(0);
    expect(row!.recorder.recorderProcessCpu).toBeGreaterThan(0);
    expect(row!.bare.cpuPerMix).toBeGreaterThan(0);
    expect(row!.cpuRatio).toBeCloseTo(row!.recorder.cpuPerMix / row!.bare.cpuPerMix, 1);
    // Frames came out of both, at about the configured 15 fps.
    expect(row!.recorder.outputFps).toBeGreaterThan(5);
    expect(row!.recorder.outputFps).toBeLessThan(20);
    expect(row!.bare.outputFps).toBeGreaterThan(5);
    expect(row!.recorder.pssPerMixMiB).toBeGreaterThan(1);
    expect(await readFile(join(out, 'table.md'), 'utf8')).toMatch(/^\| inputs \| output \| mixes/);
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
