import { describe, expect, it } from 'vitest';
import { bufferedBytes, isStalled, stallReason } from './backpressure.js';

const MIB = 1024 * 1024;

describe('backpressure', () => {
  it.each([
    { stdinBytes: 0, heldBytes: 0, stalled: false },
    { stdinBytes: MIB, heldBytes: 0, stalled: false },
    { stdinBytes: 0, heldBytes: MIB, stalled: false },
    { stdinBytes: MIB, heldBytes: 1, stalled: true },
    { stdinBytes: MIB - 10, heldBytes: 11, stalled: true },
    { stdinBytes: 2 * MIB, heldBytes: 0, stalled: true },
  ])('stdin $stdinBytes + held $heldBytes over a 1 MiB cap: stalled $stalled', ({ stalled, ...backlog }) => {
    expect(bufferedBytes(backlog)).toBe(backlog.stdinBytes + backlog.heldBytes);
    expect(isStalled(backlog, MIB)).toBe(stalled);
  });

  it('names the stall and the cap', () => {
    expect(stallReason(MIB + 5, MIB)).toBe(
      'ffmpeg stalled: 1048581 bytes buffered for it, over record.maxBufferedBytes (1 MiB)',
    );
    expect(stallReason(3 * MIB, 2 * MIB)).toBe(
      'ffmpeg stalled: 3 MiB buffered for it, over record.maxBufferedBytes (2 MiB)',
    );
  });
});
