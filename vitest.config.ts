import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores: end-to-end files push real-time media, so keep them from starving each other.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
