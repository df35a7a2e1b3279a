import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The ffmpeg binary to use: config, else env FFMPEG_PATH, else the one bundled by @ffmpeg-installer. */
export function resolveFfmpegPath(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (configured) return configured;
  if (env.FFMPEG_PATH) return env.FFMPEG_PATH;
  const require = createRequire(import.meta.url);
  const installer = require('@ffmpeg-installer/ffmpeg') as { path: string };
  return installer.path;
}

/**
 * The ffprobe binary to use: env FFPROBE_PATH, else the one bundled by @ffprobe-installer, else the ffprobe beside
 * ffmpegPath (a distribution's /usr/bin), else `ffprobe` on the PATH.
 */
export function resolveFfprobePath(ffmpegPath?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.FFPROBE_PATH) return env.FFPROBE_PATH;
  const require = createRequire(import.meta.url);
  try {
    return (require('@ffprobe-installer/ffprobe') as { path: string }).path;
  } catch {
    // Installed with --omit=optional (the Docker image): no bundled binary for this platform.
  }
  if (ffmpegPath && dirname(ffmpegPath) !== '.') {
    const sibling = join(dirname(ffmpegPath), process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe');
    if (existsSync(sibling)) return sibling;
  }
  return 'ffprobe';
}
