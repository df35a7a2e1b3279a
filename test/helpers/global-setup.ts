import { execFileSync } from 'node:child_process';
import { FFPROBE, PUBLISHER_FFMPEG, capableFfmpeg, ensureFixtures } from './fixtures.js';
import { installMinio } from './minio.js';

/** Checks the media tools the tests need, builds the CLI, makes the fixtures once, and builds MinIO once. */
export default function setup(): void {
  for (const tool of [PUBLISHER_FFMPEG, FFPROBE]) {
    try {
      execFileSync(tool, ['-version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is required by the tests (apt-get install ffmpeg; .ci/run installs it)`);
    }
  }
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    stdio: 'inherit',
  });
  // The web console's bundle, which the console tests load in Chromium.
  execFileSync(process.execPath, ['scripts/build-console.mjs'], { stdio: 'inherit' });
  ensureFixtures();
  // A real MinIO for the storage tests; a failed build fails the run with go's reason, never skips them.
  installMinio();
  // The HEVC and AV1 tests' ffmpeg, fetched once from PyPI; a failed fetch fails the run with pip's reason.
  capableFfmpeg();
}
