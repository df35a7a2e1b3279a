import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';

/** A server process the bench started: its output goes to a log file. */
export interface Service {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signals it, then SIGKILL after graceMs; resolves once it has exited. Idempotent. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
}

export interface ServiceOptions {
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves when the service can take publishes; a rejection (or an exit first) fails the start. */
  ready: (child: ChildProcess) => Promise<void>;
  readyTimeoutMs?: number;
}

/** Starts a server process and waits until it is ready. */
export async function startService(o: ServiceOptions): Promise<Service> {
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const child = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: o.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on('error', () => done({ code: null, signal: null }));
    child.on('close', (code, signal) => {
      log.end();
      done({ code, signal });
    });
  });
  const timeoutMs = o.readyTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      o.ready(child),
      exited.then(({ code, signal }) => {
        throw new Error(`${o.command} exited (${code ?? signal}) before it was ready; see ${o.logFile}`);
      }),
      new Promise<never>((_, fail) => {
        timer = setTimeout(
          () => fail(new Error(`${o.command} not ready within ${timeoutMs} ms; see ${o.logFile}`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    clearTimeout(timer);
  }
  let stopping: Promise<void> | undefined;
  return {
    child,
    pid: child.pid!,
    exited,
    stop(signal, graceMs) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(signal);
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(kill);
      })();
      return stopping;
    },
  };
}

/** Resolves when a line of the child's stdout contains `text`. */
export function stdoutLine(text: string): (child: ChildProcess) => Promise<void> {
  return (child) =>
    new Promise((done) => {
      let seen = '';
      const onData = (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-4096);
        if (seen.includes(text)) {
          child.stdout!.off('data', onData);
          done();
        }
      };
      child.stdout!.on('data', onData);
    });
}

/** Resolves once a TCP connect to the port succeeds. */
export function tcpOpen(port: number, host = '127.0.0.1'): () => Promise<void> {
  return async () => {
    for (;;) {
      const ok = await new Promise<boolean>((done) => {
        const socket = net.connect(port, host);
        socket.once('connect', () => {
          socket.destroy();
          done(true);
        });
        socket.once('error', () => done(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
}

/** `count` distinct free loopback TCP ports (all bound at once, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  await Promise.all(
    servers.map((s) => new Promise<void>((ok, fail) => s.once('error', fail).listen(0, '127.0.0.1', ok))),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return ports;
}
