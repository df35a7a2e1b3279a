import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, startService, stdoutLine } from '../service.js';
import { listFiles, type OutputFiles, type TargetInstance, type TargetStartOptions } from './target.js';

const APP = 'live';
const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url));
/** How long the recorder may take to finish its recordings once told to stop. */
const STOP_GRACE_MS = 120_000;

/** A stored HLS segment: `<stream>_<start>_<number>.ts` (the playlist's name ends with the end time instead). */
const SEGMENT = /^(.+)_\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}_\d+\.ts$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** base with extra over it; plain objects merge key by key, anything else replaces. */
export function mergeConfig(
  base: Record<string, unknown>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? mergeConfig(current, value) : value;
  }
  return out;
}

/** The recorder's config for a bench run: loopback ports, files on local disk, callbacks to the bench. */
export function recorderBenchConfig(o: {
  dir: string;
  rtmpPort: number;
  httpPort: number;
  formats: readonly string[];
  segmentSeconds: number;
  callbackUrl: string;
  engine: 'ffmpeg' | 'native';
  extra: Record<string, unknown>;
}): Record<string, unknown> {
  return mergeConfig(
    {
      rtmp: { host: '127.0.0.1', port: o.rtmpPort },
      http: { host: '127.0.0.1', port: o.httpPort },
      dataDir: join(o.dir, 'data'),
      // hlsResumeTimeoutSeconds 0: a playlist closes at unpublish, as nginx-rtmp's and MediaMTX's files do.
      record: {
        formats: o.formats,
        hlsSegmentSeconds: o.segmentSeconds,
        hlsResumeTimeoutSeconds: 0,
        engine: o.engine,
      },
      storage: { type: 'local' },
      callback: { url: o.callbackUrl, key: 'bench', retryIntervalSeconds: 1 },
    },
    o.extra,
  );
}

/** Starts `recorder serve` as its own process (so its tree is only the recorder and its ffmpegs). */
export async function startRecorderTarget(
  o: TargetStartOptions & {
    callbackUrl: string;
    engine: 'ffmpeg' | 'native';
    extraConfig: Record<string, unknown>;
    nodeArgs?: readonly string[];
  },
): Promise<TargetInstance> {
  const [rtmpPort, httpPort] = (await freePorts(2)) as [number, number];
  const config = recorderBenchConfig({ ...o, rtmpPort, httpPort, extra: o.extraConfig });
  const configFile = join(o.dir, 'recorder.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const logFile = join(o.dir, 'recorder.log');
  const service = await startService({
    command: process.execPath,
    args: [...(o.nodeArgs ?? []), CLI, 'serve', '--config', configFile],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    logFile,
    ready: stdoutLine('recorder ready'),
  });
  const filesDir = join(String(config.dataDir), APP);
  return {
    name: o.engine === 'native' ? 'recorder-native' : 'recorder',
    pid: service.pid,
    publishUrl: `rtmp://127.0.0.1:${rtmpPort}/${APP}`,
    segmentDirs: [filesDir],
    segmentClosing: 'appears-closed',
    logFile,
    segmentStream: (path) => SEGMENT.exec(basename(path))?.[1],
    stop: () => service.stop('SIGTERM', STOP_GRACE_MS),
    async outputs(stream) {
      const mine = (ext: string) => (name: string) => name.startsWith(`${stream}_`) && name.endsWith(ext);
      const out: OutputFiles[] = [];
      for (const format of o.formats) {
        if (format === 'hls')
          out.push({ output: 'hls', files: await listFiles(filesDir, mine('.ts')), concat: true });
        else
          out.push({ output: format, files: await listFiles(filesDir, mine(`.${format}`)), concat: false });
      }
      return out;
    },
  };
}
