import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'minio';
import { parsePlaylist } from '../../src/recording/hls-playlist.js';
import { decode } from './media.js';
import type { TestMinio } from './minio.js';

/** A stored playlist (by its event 100's video_url), downloaded from MinIO with its segments into a dir of its own. */
export async function storedPlaylist(minio: TestMinio, bucket: string, videoUrl: string, root: string) {
  const client = new Client({
    endPoint: minio.endPoint,
    port: minio.port,
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
  const object = async (key: string) => {
    const chunks: Buffer[] = [];
    for await (const chunk of await client.getObject(bucket, key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const key = decodeURIComponent(new URL(videoUrl).pathname).replace(`/${bucket}/`, '');
  const text = (await object(key)).toString('utf8');
  const dir = await mkdtemp(join(root, 'playlist-'));
  const parsed = parsePlaylist(text);
  const folder = key.slice(0, key.lastIndexOf('/') + 1);
  for (const segment of parsed.segments)
    await writeFile(join(dir, segment.uri), await object(folder + segment.uri));
  await writeFile(join(dir, 'index.m3u8'), text);
  return { ...parsed, text, file: join(dir, 'index.m3u8') };
}

/**
 * Decodes a playlist one timeline at a time (split at each EXT-X-DISCONTINUITY), as a player does: ffmpeg's
 * HLS demuxer reads across a discontinuity as one timeline, and a push that restarts its clock goes back.
 */
export async function decodeByTimeline(playlist: {
  file: string;
  segments: { uri: string; durationSeconds: number; discontinuity: boolean }[];
}): Promise<{ errors: string[]; seconds: number }> {
  const parts: (typeof playlist.segments)[] = [];
  for (const segment of playlist.segments) {
    if (segment.discontinuity || parts.length === 0) parts.push([]);
    parts.at(-1)!.push(segment);
  }
  const errors: string[] = [];
  let seconds = 0;
  for (const [i, part] of parts.entries()) {
    const file = join(playlist.file, '..', `part-${i}.m3u8`);
    const target = Math.ceil(Math.max(...part.map((s) => s.durationSeconds)));
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      `#EXT-X-TARGETDURATION:${target}`,
      '#EXT-X-PLAYLIST-TYPE:VOD',
    ];
    for (const s of part) lines.push(`#EXTINF:${s.durationSeconds},`, s.uri);
    await writeFile(file, [...lines, '#EXT-X-ENDLIST', ''].join('\n'));
    const decoded = await decode(file);
    errors.push(...decoded.errors);
    seconds += decoded.seconds;
  }
  return { errors, seconds };
}
