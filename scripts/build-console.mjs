// Builds the web console into dist/console: its two bundles (the login page's, and the console's own, with
// hls.js, mpegts.js and preact from node_modules; nothing is fetched from a CDN at run time), its pages and
// its style. `npm run build` and `npm start` run it; so does the test setup.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const out = join('dist', 'console');
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: 'console/src/app.tsx', login: 'console/src/login.tsx' },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const file of ['index.html', 'login.html', 'console.css'])
  await copyFile(join('console', file), join(out, file));
