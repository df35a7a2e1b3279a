import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A callback receiver whose answer the test sets: a status, or holding the request unanswered. */
export interface HeldReceiver {
  url: string;
  status: number;
  /** Requests this says yes to are held unanswered (in `held`) until the test answers them. */
  hold: (body: Record<string, unknown>) => boolean;
  /** Every request: its event id, body, and the status it got (undefined while held). */
  requests: { eventId: string; body: Record<string, unknown>; status?: number }[];
  held: { res: http.ServerResponse; request: HeldReceiver['requests'][number] }[];
  /** Answers every held request with this status. */
  release(status: number): void;
  /** How many times the event was answered 200. */
  delivered(eventId: string): number;
  close(): Promise<void>;
}

export async function startHeldReceiver(): Promise<HeldReceiver> {
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      const entry: HeldReceiver['requests'][number] = {
        eventId: String(req.headers['x-recorder-event-id']),
        body: JSON.parse(text) as Record<string, unknown>,
      };
      r.requests.push(entry);
      if (r.hold(entry.body)) {
        r.held.push({ res, request: entry });
        return;
      }
      entry.status = r.status;
      res.writeHead(r.status).end();
    });
  });
  const r: HeldReceiver = {
    url: '',
    status: 200,
    hold: () => false,
    requests: [],
    held: [],
    release(status) {
      for (const { res, request } of r.held.splice(0)) {
        request.status = status;
        res.writeHead(status).end();
      }
    },
    delivered: (id) => r.requests.filter((q) => q.eventId === id && q.status === 200).length,
    async close() {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
  return r;
}
