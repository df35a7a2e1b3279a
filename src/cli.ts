#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { auditCommand } from './audit/command.js';
import { benchCommand } from './bench/command.js';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { Recorder } from './main.js';
import { DirLockedError } from './shared/dir-lock.js';
import { ConfigError, ListenError, errorMessage } from './shared/errors.js';
import { watchNpmLauncher } from './shared/launcher-watch.js';
import { configuredLogger } from './shared/logger.js';

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
  const logger = configuredLogger(config.log);
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
  // A drain asked over HTTP (`recorder drain`) ends here too.
  void recorder.stopped.then(() => process.exit(0));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal, exiting without finishing');
      process.exit(1);
    }
    // SIGTERM drains for cluster.drainSeconds (0: at once); SIGINT (Ctrl-C) finishes at once.
    const drainMs = signal === 'SIGTERM' ? config.cluster.drainSeconds * 1000 : 0;
    logger.info({ signal, drainMs }, 'signal received, finishing recordings');
    recorder.drain(drainMs).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.fatal({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // `npm start` stopped by npm's pid: npm is gone, the recorder stops as if it had the SIGTERM.
  watchNpmLauncher(() => {
    logger.info('npm, which started the recorder, is gone');
    onSignal('SIGTERM');
  });
}

async function drain(options: { url: string; token?: string; timeout: string }): Promise<void> {
  const timeoutSeconds = Number(options.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > 86_400) {
    process.stderr.write('recorder: --timeout must be a whole number of seconds in 0..86400\n');
    process.exit(2);
  }
  let answer: Response;
  try {
    answer = await fetch(new URL('/api/drain', options.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: JSON.stringify({ timeoutSeconds }),
    });
  } catch (err) {
    process.stderr.write(`recorder: cannot reach ${options.url}: ${errorMessage(err)}\n`);
    process.exit(1);
  }
  const text = await answer.text();
  if (answer.status !== 202) {
    process.stderr.write(`recorder: drain refused (${answer.status}): ${text}\n`);
    process.exit(1);
  }
  process.stdout.write(`${text}\n`);
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

program
  .command('drain')
  .description(
    'drain a running node: its /readyz fails and it takes no new publish, waits for its pushes to end ' +
      '(at most --timeout seconds), then finishes what is left and exits',
  )
  .option('--url <url>', "the node's HTTP address", 'http://127.0.0.1:8080')
  .option('--token <token>', 'api.adminToken, for a node reached other than by loopback')
  .option('--timeout <seconds>', 'longest wait for the pushes to end', '600')
  .action(drain);

program.addCommand(benchCommand());
program.addCommand(auditCommand());

await program.parseAsync(process.argv);
