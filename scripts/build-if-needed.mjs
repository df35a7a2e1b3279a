// Builds dist/ when it is missing or older than any source file, so `npm start` works on a fresh clone.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const entry = 'dist/src/cli.js';

function newestMtime(dir) {
  let newest = 0;
  for (const entryName of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entryName.name);
    const mtime = entryName.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs;
    newest = Math.max(newest, mtime);
  }
  return newest;
}

const stale =
  !existsSync(entry) ||
  statSync(entry).mtimeMs <
    Math.max(newestMtime('src'), newestMtime('workers'), statSync('tsconfig.json').mtimeMs);
if (stale) {
  console.error('building recorder…');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    stdio: 'inherit',
  });
}

// The web console, when its bundle is missing or older than its sources.
const consoleBundle = 'dist/console/app.js';
if (!existsSync(consoleBundle) || statSync(consoleBundle).mtimeMs < newestMtime('console')) {
  console.error('building the console…');
  execFileSync(process.execPath, ['scripts/build-console.mjs'], { stdio: 'inherit' });
}
