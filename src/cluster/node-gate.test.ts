import { describe, expect, it } from 'vitest';
import type { AdmitDecision, PublishRequest } from '../ingest/index.js';
import { gateRefusal, NodeGate } from './node-gate.js';

const request = (stream: string): PublishRequest => ({
  connectionId: stream,
  app: 'live',
  stream,
  query: '',
  host: 'h',
  remoteAddress: '127.0.0.1',
});
const accept: AdmitDecision = { accept: { onPacket: () => undefined, onEnd: () => undefined } };

describe('gateRefusal', () => {
  it.each([
    [{ draining: false, live: 0, maxSlots: 0 }, undefined],
    [{ draining: false, live: 500, maxSlots: 0 }, undefined],
    [{ draining: false, live: 1, maxSlots: 2 }, undefined],
    [
      { draining: false, live: 2, maxSlots: 2 },
      'this node is at capacity (2 of cluster.maxSlots 2 slots in use)',
    ],
    [{ draining: true, live: 0, maxSlots: 0 }, 'this node is draining: publish to another node'],
  ])('%o → %s', (state, want) => {
    expect(gateRefusal(state)).toBe(want);
  });
});

describe('NodeGate', () => {
  it('counts taken pushes, refuses past maxSlots and says so for /readyz; a slot frees when its push ends', async () => {
    const gate = new NodeGate(2);
    const admit = gate.admitting(() => accept);
    const first = await admit(request('a'));
    await admit(request('b'));
    expect(gate.live).toBe(2);
    expect(await admit(request('c'))).toEqual({ refuse: expect.stringContaining('at capacity (2 of') });
    expect(gate.unready()).toMatchObject({ status: 'full', live: 2, maxSlots: 2 });
    if ('accept' in first) first.accept.onEnd('unpublished');
    expect(gate.live).toBe(1);
    expect(gate.unready()).toBeUndefined();
    expect('accept' in (await admit(request('c')))).toBe(true);
  });

  it('a refusal further in does not hold a slot; a pending decision does', async () => {
    const gate = new NodeGate(1);
    let decide!: (d: AdmitDecision) => void;
    const pending = gate.admitting(() => new Promise<AdmitDecision>((r) => (decide = r)))(request('a'));
    expect(await gate.admitting(() => accept)(request('b'))).toHaveProperty('refuse');
    decide({ refuse: 'no' });
    expect(await pending).toEqual({ refuse: 'no' });
    expect(gate.live).toBe(0);
  });

  it('draining refuses every new push and resolves whenIdle once the last one ends', async () => {
    const gate = new NodeGate(0);
    const taken = await gate.admitting(() => accept)(request('a'));
    gate.drain();
    expect(gate.unready()).toMatchObject({ status: 'draining' });
    expect(await gate.admitting(() => accept)(request('b'))).toEqual({
      refuse: 'this node is draining: publish to another node',
    });
    let idle = false;
    const waiting = gate.whenIdle(60_000).then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(idle).toBe(false);
    if ('accept' in taken) taken.accept.onEnd('unpublished');
    await waiting;
    expect(idle).toBe(true);
  });

  it('whenIdle gives up after its timeout', async () => {
    const gate = new NodeGate(0);
    await gate.admitting(() => accept)(request('a'));
    const started = Date.now();
    await gate.whenIdle(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(gate.live).toBe(1);
  });
});
