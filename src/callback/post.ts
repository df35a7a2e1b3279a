import { CallbackRejectedError, errorMessage } from '../shared/errors.js';
import { signed } from './sign.js';

/** Header that carries the event id, the same on every attempt, so receivers can dedupe. */
export const EVENT_ID_HEADER = 'X-Recorder-Event-Id';
/** Body field that carries the event id; not one of Tencent's fields. */
export const EVENT_ID_FIELD = 'event_id';

export type PostOutcome =
  { ok: true; status: number } | { ok: false; error: CallbackRejectedError } | 'aborted';

/**
 * One attempt of a callback: the body with its event id, signed now (`t` and `sign` fresh at every attempt),
 * POSTed as JSON. Only a 200 delivers it; `aborted` when `signal` cut it short (a shutdown, not a failure).
 */
export async function postCallback(o: {
  url: string;
  body: Record<string, unknown>;
  eventId: string;
  key: string;
  timeoutMs: number;
  nowMs: number;
  signal?: AbortSignal;
}): Promise<PostOutcome> {
  const payload = signed({ ...o.body, [EVENT_ID_FIELD]: o.eventId }, o.key, o.nowMs);
  const timeout = AbortSignal.timeout(o.timeoutMs);
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', [EVENT_ID_HEADER]: o.eventId },
      body: JSON.stringify(payload),
      signal: o.signal ? AbortSignal.any([timeout, o.signal]) : timeout,
      // A redirect is not a 200, and following one would turn the POST into a GET.
      redirect: 'manual',
    });
    // The answer's body is ignored; cancel it so the connection is freed.
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 200) return { ok: true, status: res.status };
    return { ok: false, error: new CallbackRejectedError(`HTTP ${res.status}`, res.status) };
  } catch (err) {
    if (timeout.aborted) {
      return { ok: false, error: new CallbackRejectedError(`no answer within ${o.timeoutMs} ms`, null) };
    }
    if (o.signal?.aborted) return 'aborted';
    return { ok: false, error: new CallbackRejectedError(networkErrorMessage(err), null) };
  }
}

/** fetch() says only "fetch failed"; the reason (ECONNREFUSED, ...) is in its cause. */
function networkErrorMessage(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  return cause === undefined ? errorMessage(err) : `${errorMessage(err)}: ${errorMessage(cause)}`;
}
