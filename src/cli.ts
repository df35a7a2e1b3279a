#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { benchCommand } from './bench/command.js';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { Recorder } from './main.js';
import { DirLockedError } from './shared/dir-lock.js';
import { ConfigError, ListenError, errorMessage } from './shared/errors.js';
import { createLogger } from './shared/logger.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

async function serve(options: { config?: string }): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({ file: options.config || undefined, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`recorder: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger();
  let recorder: Recorder;
  try {
    recorder = await Recorder.start(config, { logger });
  } catch (err) {
    const message =
      err instanceof ListenError || err instanceof DirLockedError
        ? err.message
        : `cannot start: ${errorMessage(err)}`;
    logger.fatal({ err: errorMessage(err) }, message);
    process.stderr.write(`recorder: ${message}\n`);
    process.exit(1);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal, exiting without finishing');
      process.exit(1);
    }
    logger.info({ signal }, 'signal received, finishing recordings');
    recorder.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.fatal({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

const program = new Command('recorder')
  .description('Self-hosted media recorder: RTMP in; HLS, FLV, MP4 and AAC out; Tencent-compatible callbacks')
  .version(pkg.version, '-v, --version');

program
  .command('serve')
  .description('run the recorder (RTMP ingest, recording, HTTP playback and callbacks)')
  .option(
    '-c, --config <file>',
    'YAML or JSON config file; without it the embedded defaults are used. ' +
      'RECORDER_<KEY>__<SUBKEY> environment variables override it, e.g. RECORDER_STORAGE__BUCKET',
  )
  .action(serve);

program.addCommand(benchCommand());

await program.parseAsync(process.argv);
