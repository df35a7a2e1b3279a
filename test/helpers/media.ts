import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FFPROBE, PUBLISHER_FFMPEG } from './fixtures.js';

const run = promisify(execFile);

export interface ProbeResult {
  format: { format_name: string; duration?: string; size?: string };
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
}

/** ffprobe's view of a file. */
export async function probe(file: string): Promise<ProbeResult> {
  const { stdout } = await run(FFPROBE, [
    '-v',
    'error',
    '-show_format',
    '-show_streams',
    '-of',
    'json',
    file,
  ]);
  return JSON.parse(stdout) as ProbeResult;
}

/** Decodes every frame of a file; returns decoding errors (empty = clean) and the decoded duration in seconds. */
export async function decode(file: string): Promise<{ errors: string[]; seconds: number }> {
  const { stderr } = await run(
    PUBLISHER_FFMPEG,
    ['-hide_banner', '-nostdin', '-v', 'error', '-stats', '-i', file, '-f', 'null', '-'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const lines = stderr.split(/\r|\n/).filter((l) => l.trim());
  const times = [...stderr.matchAll(/time=(\d+):(\d+):([\d.]+)/g)];
  const last = times.at(-1);
  const seconds = last ? Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]) : 0;
  return { errors: lines.filter((l) => !/^(frame=|size=)/.test(l.trim())), seconds };
}

/** The container's duration as ffprobe reads it, and what it said on stderr (empty: it read the file cleanly). */
export async function formatDuration(file: string): Promise<{ seconds: number; stderr: string }> {
  const { stdout, stderr } = await run(FFPROBE, [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    file,
  ]);
  return { seconds: Number(stdout.trim()), stderr };
}
