import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { LedgerRecording, RecordingLedger } from './recording-ledger.js';
import type { WorkRegistry } from './work-registry.js';

export interface DeadWorkOptions {
  work: WorkRegistry;
  ledger: RecordingLedger;
  /** Closes a dead node's recording here (its playlist from the stored segments, event 100). */
  closeRecording: (recording: LedgerRecording) => Promise<void>;
  /** Sends a dead node's push's event 0 from its facts (the item's detail); true once it is queued. */
  endPush: (detail: string, endMs: number) => Promise<boolean>;
  logger: Logger;
}

/**
 * One look at the cluster for work whose node died: each of its pushes gets its event 0 from this node (the
 * one that takes the item), and each recording whose resume window has passed since is closed here (the one
 * that claims it). A node that returns on its disk before that finishes its own.
 */
export async function sweepDeadWork(o: DeadWorkOptions): Promise<{ pushes: number; recordings: number }> {
  let pushes = 0;
  for (const node of await o.work.list()) {
    if (node.alive) continue;
    for (const item of node.items) {
      if (item.kind !== 'push' || !item.detail) continue;
      if (!(await o.work.claimItem(node.node, 'push', item.id))) continue;
      try {
        if (await o.endPush(item.detail, Date.now())) {
          await o.ledger.pushEnded(item.id);
          pushes++;
        }
      } catch (err) {
        o.logger.error(
          { node: node.node, push: item.id, err: errorMessage(err) },
          "a dead node's event 0 failed",
        );
      }
    }
  }
  const recordings = await o.ledger.sweep(o.closeRecording);
  return { pushes, recordings };
}
