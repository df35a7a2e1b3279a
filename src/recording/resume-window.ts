/** Facts about an interrupted recording, for the resume decision. */
export interface InterruptedRecording {
  /** When its last publisher left (ms). */
  interruptedAt: number;
  /** hlsResumeTimeoutSeconds of its template. */
  resumeTimeoutSeconds: number;
}

/** Whether a publish at `now` continues the interrupted recording (same playlist) or starts a new one. */
export function continuesRecording(recording: InterruptedRecording, now: number): boolean {
  if (recording.resumeTimeoutSeconds <= 0) return false;
  return now - recording.interruptedAt <= recording.resumeTimeoutSeconds * 1000;
}

/** Milliseconds left in the resume window at `now` (0 when it has expired). */
export function resumeTimeLeft(recording: InterruptedRecording, now: number): number {
  return Math.max(0, recording.interruptedAt + recording.resumeTimeoutSeconds * 1000 - now);
}
