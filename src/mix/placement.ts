/** Where a kept mix session's inputs publish, seen from one node, and whether that node runs the session. */
export interface PlacementView {
  /** Inputs publishing on this node. */
  localInputs: number;
  /** Inputs publishing on other nodes. */
  remoteInputs: number;
  /** This node runs the session's mixer now. */
  runsHere: boolean;
  /** Another node holds the session's claim. */
  heldElsewhere: boolean;
}

/**
 * What a node does with a kept mix session: a mixer reads its inputs from the node's own ingest, so a session
 * runs where its inputs publish. `run`: start it here (claiming it first) or keep it; `hand-over`: stop it here,
 * since its inputs publish elsewhere and none here (the node that has them takes it); `leave`: another node
 * runs it, or should. A session none of whose inputs publish runs on whichever node claims it first, and shows
 * its canvas until they come.
 */
export function mixPlacement(view: PlacementView): 'run' | 'hand-over' | 'leave' {
  if (view.runsHere) return view.localInputs === 0 && view.remoteInputs > 0 ? 'hand-over' : 'run';
  if (view.heldElsewhere) return 'leave';
  return view.localInputs > 0 || view.remoteInputs === 0 ? 'run' : 'leave';
}
