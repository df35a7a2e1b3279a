// HAProxy (Debian's `haproxy`) in front of recorder nodes, for the tests and for users trying a cluster:
//
//   node --import tsx scripts/haproxy.mjs config --bind *:1935 --node a=10.0.0.11:1935:8080 --node b=...
//        [--balance leastconn|first|roundrobin] [--check-ms 1000] [--stats 127.0.0.1:8404] [--dns 127.0.0.11:53]
//                          print the config (RTMP over TCP, each node checked by GET /readyz on its HTTP port)
//   node --import tsx scripts/haproxy.mjs start DIR (the same options)
//                          write DIR/haproxy.cfg, check it, start haproxy in the background (pid in DIR)
//   node --import tsx scripts/haproxy.mjs stop DIR       stop it (idempotent)
//
// A node is name=host:rtmpPort:httpPort. Needs haproxy (apt-get install haproxy).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { haproxyConfig } from '../src/cluster/haproxy-config.ts';

const fail = (message) => {
  process.stderr.write(`haproxy.mjs: ${message}\n`);
  process.exit(2);
};

const [command, ...rest] = process.argv.slice(2);
const { values, positionals } = parseArgs({
  args: rest,
  allowPositionals: true,
  options: {
    bind: { type: 'string', default: '*:1935' },
    node: { type: 'string', multiple: true, default: [] },
    balance: { type: 'string', default: 'leastconn' },
    'check-ms': { type: 'string', default: '1000' },
    stats: { type: 'string' },
    dns: { type: 'string' },
  },
});

function config() {
  const nodes = values.node.map((spec) => {
    const match = /^([^=]+)=(.+):(\d+):(\d+)$/.exec(spec);
    if (!match) fail(`--node ${spec}: must be name=host:rtmpPort:httpPort`);
    return { name: match[1], host: match[2], rtmpPort: Number(match[3]), httpPort: Number(match[4]) };
  });
  if (!['leastconn', 'first', 'roundrobin'].includes(values.balance)) {
    fail('--balance must be leastconn, first or roundrobin');
  }
  try {
    return haproxyConfig({
      bind: values.bind,
      nodes,
      balance: values.balance,
      checkIntervalMs: Number(values['check-ms']),
      ...(values.stats ? { stats: values.stats } : {}),
      ...(values.dns ? { dns: values.dns } : {}),
    });
  } catch (err) {
    fail(err.message);
  }
}

const pidOf = (dir) => {
  try {
    return Number(readFileSync(join(dir, 'haproxy.pid'), 'utf8').trim().split('\n')[0]);
  } catch {
    return undefined;
  }
};

if (command === 'config') {
  process.stdout.write(config());
} else if (command === 'start') {
  const dir = positionals[0] ? resolve(positionals[0]) : fail('start needs a DIR');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config());
  try {
    execFileSync('haproxy', ['-c', '-q', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('haproxy', ['-D', '-p', join(dir, 'haproxy.pid'), '-f', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (err) {
    fail(`haproxy did not start: ${String(err.stderr ?? err.message).trim()}`);
  }
  process.stdout.write(`HAPROXY_PID=${pidOf(dir)}\nHAPROXY_CONFIG=${file}\n`);
} else if (command === 'stop') {
  const dir = positionals[0] ? resolve(positionals[0]) : fail('stop needs a DIR');
  const pid = pidOf(dir);
  if (pid) {
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (alive()) process.kill(pid, 'SIGTERM');
    // Waits for it to go (up to 5 s, then SIGKILL): its port is free when stop returns.
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50 && alive(); i++) Atomics.wait(pause, 0, 0, 100);
    if (alive()) process.kill(pid, 'SIGKILL');
    rmSync(join(dir, 'haproxy.pid'), { force: true });
  }
} else {
  fail('usage: config | start DIR | stop DIR (see the top of this file)');
}
