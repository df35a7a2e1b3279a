import { AsyncLocalStorage } from 'node:async_hooks';

/** Who a request is from, as the edge that authenticated it knows: entries recorded while serving it say so. */
export interface AuditActor {
  who: string;
  from?: string | undefined;
  /** An API caller's role, for routes only an admin may read. */
  role?: 'admin' | 'viewer' | undefined;
}

const actors = new AsyncLocalStorage<AuditActor>();
const byRequest = new WeakMap<object, AuditActor>();

/**
 * Marks a request as done by `actor`: `actorOf(request)` from any hook, and `currentActor()` for what its
 * handler does (once the handler runs inside `runAs`, or from here on in the same async function).
 */
export function setActor(request: object, actor: AuditActor): void {
  byRequest.set(request, actor);
  actors.enterWith(actor);
}

export function actorOf(request: object): AuditActor | undefined {
  return byRequest.get(request);
}

/** Runs fn as done by `actor` (undefined: as the recorder itself). */
export function runAs<T>(actor: AuditActor | undefined, fn: () => T): T {
  return actor ? actors.run(actor, fn) : fn();
}

/** The actor of the request being served; undefined outside one (the recorder itself). */
export function currentActor(): AuditActor | undefined {
  return actors.getStore();
}
