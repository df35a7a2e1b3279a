import { resolve } from 'node:path';
import { Command } from 'commander';
import { openAuditStore } from '../cluster/index.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { createStore } from '../storage/index.js';
import { exportAudit, verifyAudit } from './verify.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function configOf(file: string | undefined): Config {
  try {
    return loadConfig({ file: file || undefined, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`recorder: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

function instant(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,12}$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (Number.isNaN(ms)) {
    process.stderr.write(
      `recorder: --${name} must be ISO 8601 (2026-12-01, 2026-12-01T08:00:00Z) or Unix seconds\n`,
    );
    process.exit(2);
  }
  return ms;
}

async function verify(options: { config?: string; from?: string; objects?: boolean; anchors?: boolean }) {
  if (options.from !== undefined && !DAY.test(options.from)) {
    process.stderr.write('recorder: --from must be a day, YYYY-MM-DD\n');
    process.exit(2);
  }
  const config = configOf(options.config);
  const logger = createLogger({ level: 'warn' });
  const dataDir = resolve(config.dataDir);
  const audit = await openAuditStore(config, dataDir, logger);
  const store =
    options.objects || options.anchors
      ? createStore(config.storage, { dataDir, publicBaseUrl: () => '' })
      : undefined;
  try {
    const report = await verifyAudit(audit.store, {
      ...(options.from ? { fromDay: options.from } : {}),
      ...(options.objects && store ? { objects: store } : {}),
      ...(options.anchors && store ? { anchors: store } : {}),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    for (const b of report.breaks)
      process.stderr.write(`broken: ${b.file}:${b.line} (seq ${b.seq ?? '?'}): ${b.reason}\n`);
    for (const o of report.objects?.changed ?? [])
      process.stderr.write(`changed object: ${o.key} (recorded at seq ${o.seq})\n`);
    for (const o of report.objects?.missing ?? [])
      process.stderr.write(`missing object: ${o.key} (recorded at seq ${o.seq})\n`);
    for (const a of report.anchors?.broken ?? [])
      process.stderr.write(`anchor: ${a.node} seq ${a.seq}: ${a.reason}\n`);
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await store?.close();
    await audit.close();
  }
}

async function exportEntries(options: { config?: string; from?: string; to?: string; stream?: string }) {
  const config = configOf(options.config);
  const fromMs = instant('from', options.from);
  const toMs = instant('to', options.to);
  const audit = await openAuditStore(config, resolve(config.dataDir), createLogger({ level: 'warn' }));
  try {
    const entries = await exportAudit(audit.store, {
      ...(fromMs !== undefined ? { fromMs } : {}),
      ...(toMs !== undefined ? { toMs } : {}),
      ...(options.stream ? { subject: options.stream } : {}),
    });
    for (const entry of entries) process.stdout.write(`${JSON.stringify(entry)}\n`);
  } finally {
    await audit.close();
  }
}

/** `recorder audit verify | export`: the audit trail of the recorder a config describes (every node's). */
export function auditCommand(): Command {
  const audit = new Command('audit').description("the audit trail: every node's hash chain of operations");
  const config = [
    '-c, --config <file>',
    'the recorder config (dataDir, or the cluster’s Redis; storage)',
  ] as const;
  audit
    .command('verify')
    .description(
      "check every node's chain (exit 1 when it breaks, saying where); --objects re-hashes each stored object " +
        'against the hash recorded when it was stored; --anchors checks the chain against the heads written out',
    )
    .option(...config)
    .option('--from <day>', 'start at this day (YYYY-MM-DD)')
    .option('--objects', 're-hash the stored objects')
    .option('--anchors', 'check the anchors in storage')
    .action((options) =>
      verify(options).catch((err: unknown) => {
        process.stderr.write(`recorder: ${errorMessage(err)}\n`);
        process.exit(1);
      }),
    );
  audit
    .command('export')
    .description('print the entries (JSON lines), every node’s, by time')
    .option(...config)
    .option('--from <time>', 'at or after (ISO 8601 or Unix seconds)')
    .option('--to <time>', 'before')
    .option('--stream <app/stream>', 'only entries about it (its publishes, recordings and objects)')
    .action((options) =>
      exportEntries(options).catch((err: unknown) => {
        process.stderr.write(`recorder: ${errorMessage(err)}\n`);
        process.exit(1);
      }),
    );
  return audit;
}
