import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './chaos.js';

const run = promisify(execFile);
const SCRIPT = resolve('scripts/haproxy.mjs');

export interface TestHaproxy {
  /** Where encoders connect: rtmp://127.0.0.1:<port>/... */
  port: number;
  /** Each server's state as HAProxy's stats say it (`UP`, `DOWN`, ...), by node name. */
  states(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** HAProxy from scripts/haproxy.mjs on free loopback ports, with a temp dir, in front of the given nodes. */
export async function startHaproxy(o: {
  nodes: { name: string; rtmpPort: number; httpPort: number }[];
  balance?: 'leastconn' | 'first' | 'roundrobin';
  checkMs?: number;
}): Promise<TestHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'recorder-haproxy-'));
  const [port, statsPort] = [await freePort(), await freePort()];
  const script = (...args: string[]) => run(process.execPath, ['--import', 'tsx', SCRIPT, ...args]);
  await script(
    'start',
    dir,
    ...['--bind', `127.0.0.1:${port}`, '--stats', `127.0.0.1:${statsPort}`],
    ...['--balance', o.balance ?? 'leastconn', '--check-ms', String(o.checkMs ?? 1000)],
    ...o.nodes.flatMap((n) => ['--node', `${n.name}=127.0.0.1:${n.rtmpPort}:${n.httpPort}`]),
  );
  return {
    port,
    async states() {
      // The stats page as CSV: pxname, svname, ..., status (the 18th column).
      const csv = await (await fetch(`http://127.0.0.1:${statsPort}/;csv`)).text();
      const out: Record<string, string> = {};
      for (const line of csv.split('\n')) {
        const cells = line.split(',');
        if (cells[0] === 'recorders' && cells[1] !== 'BACKEND') out[cells[1]!] = cells[17]!.split(' ')[0]!;
      }
      return out;
    },
    async stop() {
      await script('stop', dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
