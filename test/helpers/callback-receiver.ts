import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server that records every callback POSTed to it. */
export interface CallbackReceiver {
  url: string;
  bodies: Record<string, unknown>[];
  /** Resolves once `count` bodies match, or rejects after timeoutMs. */
  waitFor(
    predicate: (body: Record<string, unknown>) => boolean,
    count?: number,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const bodies: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      try {
        bodies.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        bodies.push({ unparsable: text });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0}');
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    bodies,
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
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
