import { afterPublish, type AdmitDecision, type PublishRequest } from '../ingest/index.js';

/** Why this node takes no new publish now (pure): draining, or every slot in use. Undefined: it takes one. */
export function gateRefusal(o: { draining: boolean; live: number; maxSlots: number }): string | undefined {
  if (o.draining) return 'this node is draining: publish to another node';
  if (o.maxSlots > 0 && o.live >= o.maxSlots) {
    return `this node is at capacity (${o.live} of cluster.maxSlots ${o.maxSlots} slots in use)`;
  }
  return undefined;
}

/**
 * The door of a node's RTMP pushes: counts the live ones, refuses a push past `cluster.maxSlots` or while the
 * node drains, and tells /readyz, so that a health-checking balancer sends new connections elsewhere first.
 */
export class NodeGate {
  readonly #maxSlots: number;
  #live = 0;
  #draining = false;
  readonly #idle = new Set<() => void>();

  constructor(maxSlots: number) {
    this.#maxSlots = maxSlots;
  }

  get live(): number {
    return this.#live;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Why /readyz fails now (its 503 body), or undefined while the node takes publishes. */
  unready(): { status: string; reason: string; live: number; maxSlots: number } | undefined {
    const reason = this.#refusal();
    if (!reason) return undefined;
    return {
      status: this.#draining ? 'draining' : 'full',
      reason,
      live: this.#live,
      maxSlots: this.#maxSlots,
    };
  }

  /** Wraps an admission: refused at the gate before anything else (no claim, no events), counted once taken. */
  admitting(
    admit: (request: PublishRequest) => AdmitDecision | Promise<AdmitDecision>,
  ): (request: PublishRequest) => AdmitDecision | Promise<AdmitDecision> {
    const settle = (decision: AdmitDecision): AdmitDecision => afterPublish(decision, () => this.#ended());
    return (request) => {
      const refusal = this.#refusal();
      if (refusal) return { refuse: refusal };
      // Counted while the decision is pending, so two pushes at once cannot both take the last slot.
      this.#live++;
      let decision: AdmitDecision | Promise<AdmitDecision>;
      try {
        decision = admit(request);
      } catch (err) {
        this.#ended();
        throw err;
      }
      // A decision made at once stays synchronous (one node: no round trip, nothing held).
      if (!(decision instanceof Promise)) return settle(decision);
      return decision.then(settle, (err: unknown) => {
        this.#ended();
        throw err;
      });
    };
  }

  /** Takes no new publish from now on. */
  drain(): void {
    this.#draining = true;
  }

  /** Resolves once no push is live, or after timeoutMs: whichever comes first. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.#live === 0 || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#idle.add(done);
    });
  }

  #refusal(): string | undefined {
    return gateRefusal({ draining: this.#draining, live: this.#live, maxSlots: this.#maxSlots });
  }

  #ended(): void {
    this.#live--;
    if (this.#live === 0) for (const done of [...this.#idle]) done();
  }
}
