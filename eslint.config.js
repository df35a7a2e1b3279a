// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // node-media-server may only be imported from the ingest module.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node-media-server', 'node-media-server/*'],
              message: 'Import node-media-server only in src/ingest/.',
            },
          ],
        },
      ],
    },
  },
  { files: ['src/ingest/**'], rules: { 'no-restricted-imports': 'off' } },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
