import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Packets per track in one media file, read (not estimated) with `ffprobe -count_packets`. */
export async function countPackets(ffprobe: string, file: string): Promise<{ video: number; audio: number }> {
  const { stdout } = await run(
    ffprobe,
    [
      '-v',
      'error',
      '-count_packets',
      '-show_entries',
      'stream=codec_type,nb_read_packets',
      '-of',
      'json',
      file,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const { streams = [] } = JSON.parse(stdout) as {
    streams?: { codec_type: string; nb_read_packets?: string }[];
  };
  const sum = (type: string) =>
    streams.filter((s) => s.codec_type === type).reduce((n, s) => n + Number(s.nb_read_packets ?? 0), 0);
  return { video: sum('video'), audio: sum('audio') };
}
