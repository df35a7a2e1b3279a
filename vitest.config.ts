import { defineConfig } from 'vitest/config';

/**
 * The end-to-end files that record, run a second time with `record.engine: native`: the native muxer passes the
 * same recording, resume, split, crash and timestamp tests as ffmpeg. The stall test is not among them: it stops
 * ffmpeg's process, and the native muxer writes in the recorder's own.
 */
const NATIVE_ENGINE_FILES = [
  'test/e2e/formats.test.ts',
  'test/e2e/split.test.ts',
  'test/e2e/resume.test.ts',
  'test/e2e/crash.test.ts',
  'test/e2e/timestamps.test.ts',
  'test/e2e/codecs.test.ts',
  'test/e2e/naming.test.ts',
  'test/e2e/file-health.test.ts',
  'test/e2e/faults.test.ts',
  'test/e2e/restart.test.ts',
  'test/e2e/events.test.ts',
  'test/e2e/disk-full.test.ts',
  'test/load/soak.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores: end-to-end files push real-time media, so keep them from starving each other.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: 'ffmpeg', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'native', include: NATIVE_ENGINE_FILES, env: { RECORDER_RECORD__ENGINE: 'native' } },
      },
    ],
  },
});
