import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Beat } from './beat.js';

/** A connected loopback pair: the server's side and the client's. */
async function socketPair(): Promise<{ server: net.Socket; client: net.Socket; close: () => void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  client.setNoDelay(true);
  await new Promise((resolve) => client.once('connect', resolve));
  const server = await accepted;
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

describe('Beat', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const fn of cleanups.splice(0)) fn();
  });

  it('reads a gated socket once a beat: many small writes arrive whole, in a few reads', async () => {
    const { server, client, close } = await socketPair();
    cleanups.push(close);
    const beat = new Beat(40);
    const reads: number[] = [];
    server.on('data', (data: Buffer) => reads.push(data.length));
    beat.gate(server);
    // 30 writes 5 ms apart: about 150 ms, so about four beats.
    for (let i = 0; i < 30; i++) {
      client.write(Buffer.alloc(100, i));
      await sleep(5);
    }
    await sleep(120);
    expect(reads.reduce((a, b) => a + b, 0)).toBe(3000);
    // Ungated, each write is its own read (30); a late timer on a busy box only merges more.
    expect(reads.length).toBeLessThanOrEqual(8);
    expect(reads.length).toBeGreaterThanOrEqual(1);
  });

  it('runs afterReads once, after that beat has read what was waiting', async () => {
    const { server, client, close } = await socketPair();
    cleanups.push(close);
    const beat = new Beat(40);
    let received = 0;
    server.on('data', (data: Buffer) => (received += data.length));
    beat.gate(server);
    client.write(Buffer.alloc(500));
    await sleep(10);
    const seen: number[] = [];
    beat.afterReads(() => seen.push(received));
    await sleep(150);
    expect(seen).toEqual([500]);
  });

  it('runs every() callbacks on each beat until cancelled, and stops beating when nothing is left', async () => {
    const beat = new Beat(20);
    let ticks = 0;
    const stop = beat.every(() => ticks++);
    await sleep(150);
    stop();
    const at = ticks;
    expect(at).toBeGreaterThanOrEqual(2);
    await sleep(80);
    expect(ticks).toBeLessThanOrEqual(at + 1);
  });

  it('lets a closed socket leave the gate', async () => {
    const { server, client, close } = await socketPair();
    cleanups.push(close);
    const beat = new Beat(20);
    beat.gate(server);
    beat.gate(server);
    expect(beat.gatedCount).toBe(1);
    const closed = new Promise((resolve) => server.once('close', resolve));
    server.resume();
    client.end();
    await closed;
    expect(beat.gatedCount).toBe(0);
  });
});
