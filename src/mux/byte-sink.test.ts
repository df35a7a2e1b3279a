import { describe, expect, it } from 'vitest';
import { ByteSink } from './byte-sink.js';

const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('latin1');

describe('ByteSink', () => {
  it('gives copied and referenced bytes back in order, across a growth of its buffer', () => {
    const sink = new ByteSink(4);
    sink.append(Buffer.from('ab'));
    const referenced = Buffer.from('XYZ');
    sink.appendReference(referenced);
    sink.append(Buffer.from('cdefgh')); // past the 4 initial bytes: the buffer grows
    sink.appendReference(Buffer.from('!'));
    expect(sink.length).toBe(12);
    const chunks = sink.take();
    expect(text(chunks)).toBe('abXYZcdefgh!');
    // The reference is the caller's buffer itself, not a copy.
    expect(chunks).toContain(referenced);
    expect(sink.length).toBe(0);
  });

  it('is empty after a take and reuses its buffer', () => {
    const sink = new ByteSink(16);
    sink.append(Buffer.from('first'));
    const before = sink.buffer;
    expect(text(sink.take())).toBe('first');
    sink.append(Buffer.from('second'));
    expect(sink.buffer).toBe(before);
    expect(text(sink.take())).toBe('second');
    expect(sink.take()).toEqual([]);
  });
});
