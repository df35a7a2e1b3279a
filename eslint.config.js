// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const RESTRICTED = {
  nms: {
    group: ['node-media-server', 'node-media-server/*'],
    message: 'Import node-media-server only in src/ingest/.',
  },
  browser: { group: ['playwright-core', 'playwright-core/*'], message: 'Drive the browser only in test/.' },
  console: {
    // A regex: as a gitignore pattern, hls.js would also match the recorder's own ./outputs/hls.js.
    regex: '^(preact|hls\\.js|mpegts\\.js)(/.*)?$',
    message: "The console's browser libraries belong in console/ (bundled by scripts/build-console.mjs).",
  },
};
/** Every restriction but the one a folder is the home of. */
const restricted = (home) =>
  Object.entries(RESTRICTED)
    .filter(([name]) => name !== home)
    .map(([, pattern]) => pattern);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // node-media-server only in the ingest, the browser driver only in tests, the console's libraries only in it.
      'no-restricted-imports': ['error', { patterns: restricted() }],
    },
  },
  {
    files: ['src/ingest/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: restricted('nms') }] },
  },
  { files: ['test/**'], rules: { 'no-restricted-imports': ['error', { patterns: restricted('browser') }] } },
  {
    files: ['console/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: restricted('console') }] },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
