import { createRequire } from 'node:module';

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
