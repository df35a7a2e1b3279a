import { extname } from 'node:path';

/** Content types of recorded files; `mime` says audio/x-aac for .aac, while players and Tencent expect audio/aac. */
export const MEDIA_CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.flv': 'video/x-flv',
  '.aac': 'audio/aac',
  // A recording's thumbnails: its cover and sprite, and the WebVTT that maps times to the sprite.
  '.jpg': 'image/jpeg',
  '.vtt': 'text/vtt',
  // A recording's timeline: its markers and room events.
  '.json': 'application/json',
});

/** Content type of a recorded file by its key or path. */
export function contentTypeOf(key: string): string {
  return MEDIA_CONTENT_TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream';
}
