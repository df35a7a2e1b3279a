import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One event-100 callback as the bench received it. */
export interface ReceivedFileEvent {
  stream: string;
  format: string;
  receivedAtMs: number;
}

/** A loopback HTTP receiver for the recorder's callbacks; it keeps event 100 (file recorded) and answers 200. */
export class CallbackReceiver {
  readonly events: ReceivedFileEvent[] = [];
  readonly #server: Server;
  #waiters: (() => void)[] = [];

  private constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const receivedAtMs = Date.now();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0}');
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          if (body.event_type === 100) {
            this.events.push({
              stream: String(body.stream_id),
              format: String(body.file_format),
              receivedAtMs,
            });
            for (const wake of this.#waiters.splice(0)) wake();
          }
        } catch {
          // Not JSON: not one of the recorder's callbacks.
        }
      });
    });
  }

  static async start(): Promise<CallbackReceiver> {
    const receiver = new CallbackReceiver();
    await new Promise<void>((ok) => receiver.#server.listen(0, '127.0.0.1', ok));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/callback`;
  }

  /** Resolves once `count` event-100 callbacks have arrived, or after timeoutMs (whatever arrived by then). */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count && Date.now() < deadline) {
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** Forgets what arrived (between the steps of a ramp). */
  clear(): void {
    this.events.length = 0;
  }

  close(): Promise<void> {
    return new Promise((done) => this.#server.close(() => done()));
  }
}
