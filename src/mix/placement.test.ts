import { describe, expect, it } from 'vitest';
import { mixPlacement, type PlacementView } from './placement.js';

describe('mixPlacement', () => {
  const cases: [string, PlacementView, ReturnType<typeof mixPlacement>][] = [
    [
      'runs here with its inputs here',
      { localInputs: 2, remoteInputs: 0, runsHere: true, heldElsewhere: false },
      'run',
    ],
    [
      'runs here, inputs split: stays',
      { localInputs: 1, remoteInputs: 2, runsHere: true, heldElsewhere: false },
      'run',
    ],
    [
      'runs here, every input elsewhere: hands over',
      { localInputs: 0, remoteInputs: 1, runsHere: true, heldElsewhere: false },
      'hand-over',
    ],
    [
      'runs here, no input anywhere: stays (the canvas)',
      { localInputs: 0, remoteInputs: 0, runsHere: true, heldElsewhere: false },
      'run',
    ],
    [
      'free, an input here: takes it',
      { localInputs: 1, remoteInputs: 3, runsHere: false, heldElsewhere: false },
      'run',
    ],
    [
      'free, no input anywhere: takes it',
      { localInputs: 0, remoteInputs: 0, runsHere: false, heldElsewhere: false },
      'run',
    ],
    [
      'free, inputs only elsewhere: leaves it to that node',
      { localInputs: 0, remoteInputs: 2, runsHere: false, heldElsewhere: false },
      'leave',
    ],
    [
      'held elsewhere, an input here: leaves it',
      { localInputs: 2, remoteInputs: 0, runsHere: false, heldElsewhere: true },
      'leave',
    ],
  ];
  it.each(cases)('%s', (_name, view, want) => {
    expect(mixPlacement(view)).toBe(want);
  });
});
