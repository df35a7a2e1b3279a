import { spawn } from 'node:child_process';
import type { OutputFiles } from './targets/target.js';

/** Frames found in recorded files. */
export interface FrameCount {
  video: number;
  audio: number;
}

/** `ffprobe -count_packets` of one input: packets per stream type. */
export function countPackets(ffprobe: string, input: string): Promise<FrameCount> {
  return new Promise((done, fail) => {
    const child = spawn(
      ffprobe,
      [
        '-v',
        'error',
        '-count_packets',
        '-show_entries',
        'stream=codec_type,nb_read_packets',
        '-of',
        'json',
        input,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d.slice(0, 2000)));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`ffprobe ${input.slice(0, 200)} exited ${code}: ${err.trim()}`));
      try {
        const streams = (JSON.parse(out) as { streams?: { codec_type?: string; nb_read_packets?: string }[] })
          .streams;
        const count = { video: 0, audio: 0 };
        for (const s of streams ?? []) {
          if (s.codec_type === 'video' || s.codec_type === 'audio')
            count[s.codec_type] += Number(s.nb_read_packets ?? 0);
        }
        done(count);
      } catch (e) {
        fail(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

/** Frames of one output of one stream: MPEG-TS segments read as one input (`concat:`), other files one by one. */
export async function countOutputFrames(ffprobe: string, output: OutputFiles): Promise<FrameCount> {
  if (output.files.length === 0) return { video: 0, audio: 0 };
  if (output.concat) return countPackets(ffprobe, `concat:${output.files.join('|')}`);
  const total = { video: 0, audio: 0 };
  for (const file of output.files) {
    const c = await countPackets(ffprobe, file);
    total.video += c.video;
    total.audio += c.audio;
  }
  return total;
}

/** Runs fn over items with at most `limit` at once, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
