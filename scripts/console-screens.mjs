// Refreshes the console's screenshots in docs/console: runs the console's browser tests (real Chromium, a real
// push, a real MinIO) with their screenshots written there instead of a temp dir. Run on purpose:
//   npm run docs:screens
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const dir = resolve('docs', 'console');
mkdirSync(dir, { recursive: true });
const run = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', 'test/e2e/console.test.ts', 'test/e2e/console-timeline.test.ts'],
  {
    stdio: 'inherit',
    env: { ...process.env, CONSOLE_SCREENS_DIR: dir },
  },
);
process.exit(run.status ?? 1);
