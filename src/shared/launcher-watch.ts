import { readFileSync } from 'node:fs';

/** The parent pid and command line of a process, from /proc (Linux); undefined when it cannot be read. */
function procInfo(pid: number): { ppid: number; cmdline: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return { ppid, cmdline };
  } catch {
    return undefined;
  }
}

/** The nearest ancestor (up to `depth` levels) whose command line `matches`, if any (pure but for /proc). */
export function findAncestor(
  matches: (cmdline: string) => boolean,
  depth = 4,
  from = process.ppid,
): number | undefined {
  let pid = from;
  for (let level = 0; level < depth && pid > 1; level++) {
    const info = procInfo(pid);
    if (!info) return undefined;
    if (matches(info.cmdline)) return pid;
    pid = info.ppid;
  }
  return undefined;
}

/**
 * Under `npm start`, calls `onGone` once npm's own process is gone. npm does not pass a SIGTERM sent to it
 * on to the script it runs, so a process manager that stops npm by its pid would leave the recorder running,
 * re-parented and holding its ports. Returns a stop function; a no-op outside npm or without /proc.
 */
export function watchNpmLauncher(onGone: () => void, intervalMs = 500): () => void {
  if (!process.env.npm_lifecycle_event) return () => {};
  const npm = findAncestor((cmdline) => /(^|[\s/])npm(-cli\.js)?(\s|$)/.test(cmdline));
  if (npm === undefined) return () => {};
  const timer = setInterval(() => {
    try {
      process.kill(npm, 0);
    } catch {
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
