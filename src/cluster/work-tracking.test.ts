import { describe, expect, it } from 'vitest';
import { recordingItem } from './work-tracking.js';

describe('recordingItem', () => {
  const session = { id: 'r1', key: 'live/s1', on: () => undefined };
  it.each(['starting', 'recording', 'interrupted', 'finalizing'])('keeps a recording that is %s', (state) => {
    expect(recordingItem(session, state, 42)).toEqual({
      kind: 'recording',
      id: 'r1',
      subject: 'live/s1',
      state,
      since: 42,
    });
  });
  it.each(['completed', 'failed'])('drops a recording once %s', (state) => {
    expect(recordingItem(session, state, 42)).toBeUndefined();
  });
});
