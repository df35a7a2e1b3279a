/** What a run holds for its ffmpeg: bytes queued on stdin and bytes it keeps itself (probing, awaiting a run). */
export interface Backlog {
  stdinBytes: number;
  heldBytes: number;
}

/** Bytes buffered for ffmpeg in all; over the cap, ffmpeg is taken as stalled. */
export function bufferedBytes(backlog: Backlog): number {
  return backlog.stdinBytes + backlog.heldBytes;
}

/** Whether a run's backlog is over the cap: its ffmpeg is not keeping up and must be shed. */
export function isStalled(backlog: Backlog, maxBufferedBytes: number): boolean {
  return bufferedBytes(backlog) > maxBufferedBytes;
}

/** The reason reported for a stalled run (event 332's reason, the publisher's kick). */
export function stallReason(bufferedBytes: number, maxBufferedBytes: number): string {
  return `ffmpeg stalled: ${formatBytes(bufferedBytes)} buffered for it, over record.maxBufferedBytes (${formatBytes(maxBufferedBytes)})`;
}

function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}
