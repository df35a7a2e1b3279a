import { Command } from 'commander';
import { BenchOptionError, parseBenchOptions, type RawBenchOptions } from './options.js';
import { renderSummary, runBench } from './run.js';

/** `recorder bench`: concurrent recording slots, the recorder and its peers on the same load. */
export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'measure concurrent recording slots (CPU %, RSS, lost frames, segment lag, callback time) of the recorder, ' +
        'nginx-rtmp and MediaMTX on the same load; writes report.json and slots.svg',
    )
    .option('--slots <n>', 'publishers (with --ramp: the largest N)', '10')
    .option('--duration <seconds>', 'seconds each publisher pushes, per step', '60')
    .option('--bitrate <kbps>', 'video bitrate of the load fixture', '1000')
    .option('--formats <list>', "the recorder's formats: hls, flv, mp4, aac", 'hls,mp4')
    .option(
      '--target <name>',
      'recorder, recorder-native, nginx-rtmp, mediamtx, a comma list, or all',
      'recorder',
    )
    .option(
      '--ramp',
      'step N up (doubling from --ramp-from) and report the largest N with no loss and no lag',
    )
    .option('--ramp-from <n>', 'first N of a ramp (default: slots / 8)')
    .option('--out <dir>', 'where report.json and slots.svg go', 'bench-results')
    .option('--segment-seconds <s>', 'HLS segment (and MediaMTX segment) length', '4')
    .option(
      '--warmup <seconds>',
      'seconds after the connects before sampling (default: duration / 5, at most 10)',
    )
    .option(
      '--recorder-config <json>',
      'merged over the recorder\'s generated config, e.g. \'{"ffmpegPath":"..."}\'',
    )
    .option('--recorder-node-args <flags>', "Node flags for the recorder's process, e.g. '--cpu-prof'")
    .option('--nginx <path>', 'nginx binary', 'nginx')
    .option('--nginx-module <path>', 'ngx_rtmp_module.so (Debian: libnginx-mod-rtmp)')
    .option('--mediamtx <path>', 'MediaMTX binary (default: the one scripts/peers.sh builds)')
    .option('--ffmpeg <path>', 'ffmpeg that encodes the load fixture (default: ffmpeg on the PATH)')
    .option('--ffprobe <path>', 'ffprobe that counts recorded frames (default: ffprobe on the PATH)')
    .option('--fixture-dir <dir>', 'where the load fixture is cached')
    .option('--keep', "keep each step's configs, logs and recordings")
    .action(async (raw: RawBenchOptions) => {
      let options;
      try {
        options = parseBenchOptions(raw, process.env);
      } catch (err) {
        if (err instanceof BenchOptionError) {
          process.stderr.write(`recorder bench: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      const command = ['recorder', ...process.argv.slice(2)].join(' ');
      const report = await runBench(options, command);
      process.stdout.write(`${renderSummary(report)}\n`);
      process.stderr.write(`report: ${options.out}/report.json, chart: ${options.out}/slots.svg\n`);
    });
}
