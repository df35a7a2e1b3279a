import { InvalidStateError } from '../shared/errors.js';

/** Where a recording is in its life. `interrupted`: the publisher left and the resume window is open. */
export type SessionState = 'starting' | 'recording' | 'interrupted' | 'finalizing' | 'completed' | 'failed';

const MOVES: Readonly<Record<SessionState, readonly SessionState[]>> = {
  starting: ['recording', 'finalizing', 'failed'],
  recording: ['interrupted', 'finalizing', 'failed'],
  interrupted: ['recording', 'finalizing'],
  finalizing: ['completed', 'failed'],
  completed: [],
  failed: [],
};

/** Validates a move; throws InvalidStateError for one the table does not allow. */
export function transition(from: SessionState, to: SessionState): SessionState {
  if (!MOVES[from].includes(to)) throw new InvalidStateError(`recording cannot move from ${from} to ${to}`);
  return to;
}

export function isTerminal(state: SessionState): boolean {
  return MOVES[state].length === 0;
}

/** Event 332 record_ended's reason: what is true when the recording ends. */
export function endedReason(queued: number, failed: number, what = 'recording ended'): string {
  const files = (n: number) => `${n} ${n === 1 ? 'file' : 'files'}`;
  const text = `${what}; ${files(queued)} queued for storage`;
  return failed > 0 ? `${text}, ${files(failed)} could not be queued` : text;
}
