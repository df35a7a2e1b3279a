import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST as it arrived: its body, and the event id header the outbox sends. */
export interface ReceivedCallback {
  body: Record<string, unknown>;
  eventIdHeader: string | undefined;
  at: number;
}

/** A real HTTP server that records every callback POSTed to it. */
export interface CallbackReceiver {
  url: string;
  bodies: Record<string, unknown>[];
  /** Every POST with its headers, in arrival order (the same order as `bodies`). */
  received: ReceivedCallback[];
  /** Resolves once `count` bodies match, or rejects after timeoutMs. */
  waitFor(
    predicate: (body: Record<string, unknown>) => boolean,
    count?: number,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>[]>;
  /** Stops listening and drops open connections, so senders see the port refuse; bodies are kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const bodies: Record<string, unknown>[] = [];
  const received: ReceivedCallback[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { unparsable: text };
      }
      const header = req.headers['x-recorder-event-id'];
      bodies.push(body);
      received.push({ body, eventIdHeader: typeof header === 'string' ? header : undefined, at: Date.now() });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0}');
      for (const wake of waiters) wake();
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  let listening = true;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
      // Keep-alive sockets would otherwise keep the old server answering.
      server.closeAllConnections();
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    bodies,
    received,
    waitFor(predicate, count = 1, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const matching = bodies.filter(predicate);
          if (matching.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(matching);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting for ${count} callbacks; got ${JSON.stringify(bodies.map((b) => [b.file_format, b.video_url]))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop,
    async restart() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    close: stop,
  };
}
