import { describe, expect, it } from 'vitest';
import { niceMax, slotsChart } from '../../src/bench/chart.js';
import { parseBenchOptions } from '../../src/bench/options.js';
import { parseStat, processTree, summarizeSamples, type ProcEntry } from '../../src/bench/proc-sampler.js';
import {
  distribution,
  outputLoss,
  rampLevels,
  ratios,
  sustainedSlots,
  type StepResult,
} from '../../src/bench/report.js';
import { segmentLags } from '../../src/bench/segments.js';
import { nginxRtmpConfig } from '../../src/bench/targets/nginx-rtmp.js';
import { mediamtxConfig } from '../../src/bench/targets/mediamtx.js';

describe('bench: /proc parsing', () => {
  it('reads ppid, CPU ticks and RSS from a stat line whose comm holds spaces and parentheses', () => {
    const stat =
      '4242 (ffmpeg (x) y) S 4200 4242 4200 0 -1 4194304 100 0 0 0 150 50 0 0 20 0 3 0 9999 123456789 2560 ' +
      '18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';
    expect(parseStat(4242, stat)).toEqual({
      pid: 4242,
      ppid: 4200,
      cpuTicks: 200,
      rssKiB: 10240,
      comm: 'ffmpeg (x) y',
    });
  });

  it('takes a root and all its descendants, not its siblings', () => {
    const table = new Map<number, ProcEntry>(
      [
        [1, 0],
        [10, 1],
        [11, 10],
        [12, 11],
        [20, 1],
      ].map(([pid, ppid]) => [pid!, { pid: pid!, ppid: ppid!, cpuTicks: 0, rssKiB: 0, comm: '' }]),
    );
    expect(
      processTree(10, table)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([10, 11, 12]);
  });

  it('summarizes only the samples inside the window', () => {
    const sample = (atMs: number, cpuPercent: number) => ({
      atMs,
      cpuPercent,
      rootCpuPercent: 1,
      rssMiB: cpuPercent,
      pssMiB: cpuPercent / 2,
      rootRssMiB: 1,
      processes: 2,
    });
    const s = summarizeSamples(
      [sample(0, 100), sample(1000, 10), sample(2000, 30), sample(3000, 100)],
      1000,
      2000,
    );
    expect(s).toMatchObject({
      samples: 2,
      cpuPercent: 20,
      rssMiB: 20,
      peakRssMiB: 30,
      pssMiB: 10,
      processes: 2,
    });
  });
});

describe('bench: figures', () => {
  it('segment lag: closing time minus the media end (k+1)·S, the last segment left out', () => {
    const files = [0, 4100, 8300, 9000].map((t, i) => ({ path: `s-${i}.ts`, seenAtMs: 1000 + t }));
    expect(
      segmentLags({ files, closing: 'next-opens', publishStartedAtMs: 1000, segmentSeconds: 4 }),
    ).toEqual([100, 300, -3000]);
    expect(
      segmentLags({ files, closing: 'appears-closed', publishStartedAtMs: 1000, segmentSeconds: 4 }),
    ).toEqual([-4000, -3900, -3700]);
  });

  it('loss counts frames pushed and not found, per stream, never below zero', () => {
    const pushed = new Map([
      ['a', { video: 100, audio: 180 }],
      ['b', { video: 100, audio: 180 }],
    ]);
    const found = new Map([
      ['a', { video: 100, audio: 181 }],
      ['b', { video: 97, audio: 180 }],
    ]);
    expect(outputLoss('hls', pushed, found)).toEqual({
      output: 'hls',
      found: { video: 197, audio: 361 },
      lost: { video: 3, audio: 0 },
      streamsWithLoss: 1,
    });
  });

  it('percentiles by nearest rank', () => {
    expect(distribution([])).toEqual({ count: 0, p50: 0, p95: 0, max: 0 });
    expect(distribution([5, 1, 3, 2, 4])).toEqual({ count: 5, p50: 3, p95: 5, max: 5 });
  });

  it('ramp levels double from the first N and end at the largest', () => {
    expect(rampLevels(300, 25)).toEqual([25, 50, 100, 200, 300]);
    expect(rampLevels(3, 10)).toEqual([3]);
  });

  const step = (target: StepResult['target'], slots: number, lostFrames: number, pass: boolean, cpu = 10) =>
    ({
      target,
      slots,
      lostFrames,
      pass,
      publishErrors: 0,
      segmentSeconds: 4,
      segmentLagMs: { count: 1, p50: 100, p95: 100, max: 100 },
      cpuPercentPerSlot: cpu,
      rssMiBPerSlot: cpu * 2,
    }) as StepResult;

  it('sustained slots: the largest N with every N up to it passed; optionally loss above the smallest N only', () => {
    const steps = [
      step('nginx-rtmp', 10, 30, false),
      step('nginx-rtmp', 20, 60, false),
      step('nginx-rtmp', 40, 200, false),
    ];
    expect(sustainedSlots(steps, 'nginx-rtmp')).toBeNull();
    expect(sustainedSlots(steps, 'nginx-rtmp', true)).toBe(20);
    const ours = [
      step('recorder', 10, 0, true),
      step('recorder', 20, 0, false),
      step('recorder', 40, 0, true),
    ];
    expect(sustainedSlots(ours, 'recorder')).toBe(10);
  });

  it('ratios are ours over theirs per slot, at the N both ran', () => {
    const steps = [
      step('recorder', 10, 0, true, 2),
      step('mediamtx', 10, 0, true, 4),
      step('mediamtx', 20, 0, true),
    ];
    expect(ratios(steps)).toEqual([
      { ours: 'recorder', peer: 'mediamtx', slots: 10, cpuPerSlot: 0.5, rssPerSlot: 0.5 },
    ]);
  });

  it('ratios: each engine over each peer, and the native engine over ffmpeg, never a peer over a peer', () => {
    const steps = [
      step('recorder', 10, 0, true, 4),
      step('recorder-native', 10, 0, true, 2),
      step('nginx-rtmp', 10, 0, true, 1),
      step('mediamtx', 10, 0, true, 8),
    ];
    expect(ratios(steps).map((r) => [r.ours, r.peer, r.cpuPerSlot])).toEqual([
      ['recorder', 'mediamtx', 0.5],
      ['recorder', 'nginx-rtmp', 4],
      ['recorder-native', 'mediamtx', 0.25],
      ['recorder-native', 'nginx-rtmp', 2],
      ['recorder-native', 'recorder', 0.5],
    ]);
  });

  it('chart: a round axis and one line per target', () => {
    expect([0.3, 7, 10, 11, 260].map(niceMax)).toEqual([0.5, 10, 10, 20, 500]);
    const svg = slotsChart(
      [step('recorder', 10, 0, true), step('recorder', 20, 0, true), step('mediamtx', 10, 0, false)].map(
        (s) => ({
          ...s,
          cpuPercent: s.slots,
          rssMiB: s.slots * 3,
        }),
      ),
      '1000 kbit/s',
    );
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain('fill="white"/>');
  });
});

describe('bench: options and peer configs', () => {
  it('completes the defaults and expands --target all', () => {
    const o = parseBenchOptions(
      { slots: '300', target: 'all', formats: 'hls,mp4' },
      { XDG_CACHE_HOME: '/c' },
    );
    expect(o).toMatchObject({
      slots: 300,
      durationSeconds: 60,
      bitrateKbps: 1000,
      formats: ['hls', 'mp4'],
      targets: ['recorder', 'recorder-native', 'nginx-rtmp', 'mediamtx'],
      rampFrom: 38,
      warmupSeconds: 10,
    });
    expect(o.mediamtx).toBe('/c/recorder/mediamtx/v1.12.3/mediamtx');
    expect(o.recorderNodeArgs).toEqual([]);
    expect(
      parseBenchOptions({ recorderNodeArgs: ' --cpu-prof  --cpu-prof-dir=p ' }).recorderNodeArgs,
    ).toEqual(['--cpu-prof', '--cpu-prof-dir=p']);
  });

  it.each([
    [{ formats: 'hls,mov' }, '--formats takes'],
    [{ target: 'srs' }, '--target takes'],
    [{ duration: '2' }, '--duration must be an integer in 5..86400'],
    [{ recorderConfig: '[1]' }, '--recorder-config must be a JSON object'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseBenchOptions(raw)).toThrow(message);
  });

  it('nginx-rtmp records every publish to FLV and HLS on a loopback port, keeping every fragment', () => {
    const conf = nginxRtmpConfig({
      dir: '/d',
      rtmpPort: 1999,
      module: '/m.so',
      segmentSeconds: 4,
      asRoot: false,
    });
    for (const line of [
      'listen 127.0.0.1:1999;',
      'record all;',
      'hls on;',
      'hls_fragment 4s;',
      'hls_cleanup off;',
    ]) {
      expect(conf).toContain(line);
    }
    expect(conf).toMatch(/^load_module \/m\.so;$/m);
    expect(conf).not.toContain('user root;');
  });

  it('MediaMTX records every path to fMP4 segments, with only RTMP on', () => {
    const yml = mediamtxConfig({ dir: '/d', rtmpPort: 1999, segmentSeconds: 4 });
    for (const line of [
      'rtmpAddress: 127.0.0.1:1999',
      'record: yes',
      'recordFormat: fmp4',
      'recordSegmentDuration: 4s',
      'rtsp: no',
      'hls: no',
    ]) {
      expect(yml).toContain(line);
    }
  });
});
