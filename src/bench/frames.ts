import { countPackets, type PacketCount } from '../ffmpeg/probe.js';
import type { OutputFiles } from './targets/target.js';

/** Frames found in recorded files. */
export type FrameCount = PacketCount;

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
