import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { isRefusal, layoutMix } from './layout.js';
import { roomMixRequest, roomOf, roomOutputName } from './room-mix.js';

const config = parseConfig({ mix: { auto: { enabled: true, width: 640, height: 360 } } }).mix.auto;
const TRTC = new RegExp(config.pattern);

describe('room mix', () => {
  it.each([
    ['1400000123_1001_alice_main', { sdkappid: '1400000123', room: '1001' }],
    ['1400000123_1001_user_with_underscores_aux', { sdkappid: '1400000123', room: '1001' }],
    ['1400000123_1001_mix', undefined],
    ['stream1001', undefined],
    ['1400000123_room_alice_main', undefined],
  ])('finds the room of %s', (stream, room) => {
    expect(roomOf(stream, TRTC)).toEqual(room);
  });

  it('names the output from the template', () => {
    expect(roomOutputName(config.output, { sdkappid: '1400000123', room: '1001' })).toBe(
      '1400000123_1001_mix',
    );
  });

  it('lays three members out in a 2x2 grid on the canvas, in the order they joined, fitted to their cells', () => {
    const request = roomMixRequest('auto_x', 'live', ['a', 'b', 'c'], 'out', config);
    const layout = layoutMix(request, () => undefined, { fit: 'contain' });
    if (isRefusal(layout)) throw new Error(layout.message);
    expect(layout.output).toMatchObject({ width: 640, height: 360, fps: 15, audioKbps: 64 });
    expect(layout.inputs.map((i) => [i.name, i.region, i.fit])).toEqual([
      ['live/a', { x: 0, y: 0, width: 320, height: 180 }, 'contain'],
      ['live/b', { x: 320, y: 0, width: 320, height: 180 }, 'contain'],
      ['live/c', { x: 0, y: 180, width: 320, height: 180 }, 'contain'],
    ]);
  });

  it('a preset template puts the first member on layer 1, at the configured size', () => {
    const preset = { ...config, template: 30 as const };
    const layout = layoutMix(roomMixRequest('auto_x', 'live', ['a', 'b'], 'out', preset));
    if (isRefusal(layout)) throw new Error(layout.message);
    expect(layout.output).toMatchObject({ width: 640, height: 360 });
    expect(layout.inputs[1]!.region).toEqual({ x: 320, y: 0, width: 320, height: 360 });
  });
});
