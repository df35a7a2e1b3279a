import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/chaos.js';
import { decode } from '../helpers/media.js';
import { eventually, publish } from '../helpers/recorder.js';

/** Pids whose parent is `pid`, from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) out.push(Number(name));
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let dataDir: string;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("npm start stopped by npm's pid", () => {
  it('SIGTERM to npm stops the recorder it started, and the push in progress leaves a whole file', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'recorder-npm-stop-'));
    const [rtmp, http] = [await freePort(), await freePort()];
    const npm = spawn('npm', ['start'], {
      env: {
        ...process.env,
        RECORDER_RTMP__HOST: '127.0.0.1',
        RECORDER_RTMP__PORT: String(rtmp),
        RECORDER_HTTP__HOST: '127.0.0.1',
        RECORDER_HTTP__PORT: String(http),
        RECORDER_DATADIR: dataDir,
        RECORDER_RECORD__FORMATS: 'mp4',
      },
      stdio: 'ignore',
    });
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${http}/readyz`).catch(() => undefined))?.ok === true,
      60_000,
      'the recorder under npm ready',
    );
    // npm → sh → node: the recorder is npm's grandchild.
    const recorderPid = (await Promise.all((await childrenOf(npm.pid!)).map(childrenOf))).flat()[0];
    expect(recorderPid).toBeGreaterThan(0);
    const pushed = publish(`rtmp://127.0.0.1:${rtmp}/live/npmstop`, { seconds: 30 });
    await new Promise((wake) => setTimeout(wake, 5000));
    npm.kill('SIGTERM');
    await eventually(() => !alive(recorderPid!), 30_000, 'the recorder to stop');
    await pushed.exited;
    expect(await fetch(`http://127.0.0.1:${http}/readyz`).catch(() => 'refused')).toBe('refused');
    const files = (await readdir(join(dataDir, 'live'))).filter((f) => f.endsWith('.mp4'));
    expect(files).toHaveLength(1);
    const { errors, seconds } = await decode(join(dataDir, 'live', files[0]!));
    expect(errors).toEqual([]);
    expect(seconds).toBeGreaterThan(3);
  }, 90_000);
});
