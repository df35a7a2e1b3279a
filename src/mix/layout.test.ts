import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIX_SIZE,
  isRefusal,
  layoutMix,
  type CommonMixInputParam,
  type CreateCommonMixStreamRequest,
  type MixLayout,
} from './layout.js';

const input = (
  name: string,
  layer: number,
  more: Partial<CommonMixInputParam['LayoutParams']> = {},
  crop?: CommonMixInputParam['CropParams'],
): CommonMixInputParam => ({
  InputStreamName: name,
  LayoutParams: { ImageLayer: layer, ...more },
  ...(crop ? { CropParams: crop } : {}),
});
const request = (
  inputs: CommonMixInputParam[],
  output: Partial<CreateCommonMixStreamRequest['OutputParams']> = {},
): CreateCommonMixStreamRequest => ({
  MixStreamSessionId: 'room_1001',
  InputStreamList: inputs,
  OutputParams: { OutputStreamName: 'mix_1001', OutputStreamType: 1, ...output },
});
const laid = (r: ReturnType<typeof layoutMix>): MixLayout => {
  if (isRefusal(r)) throw new Error(`refused: ${r.code} ${r.message}`);
  return r;
};
const canvas = input('canvas1', 1, { InputType: 3, ImageWidth: 1280, ImageHeight: 720, Color: '0x336699' });

describe('layoutMix', () => {
  it('places inputs on a canvas in pixels and in fractions, in layer order', () => {
    const mix = laid(
      layoutMix(
        request([
          input('b', 3, { ImageWidth: 0.25, ImageHeight: 0.25, LocationX: 0.75, LocationY: 0.75 }),
          canvas,
          input('a', 2, { ImageWidth: 640, ImageHeight: 360, LocationX: 0, LocationY: 0 }),
        ]),
      ),
    );
    expect(mix.color).toBe('0x336699');
    expect([mix.output.width, mix.output.height]).toEqual([1280, 720]);
    expect(mix.inputs.map((i) => [i.name, i.layer, i.kind, i.region])).toEqual([
      ['a', 2, 'av', { x: 0, y: 0, width: 640, height: 360 }],
      ['b', 3, 'av', { x: 960, y: 540, width: 320, height: 180 }],
    ]);
  });

  it('without a canvas the layer-1 input is the background: its size, else its own, else the default', () => {
    const sized = laid(
      layoutMix(
        request([
          input('host', 1, { ImageWidth: 960, ImageHeight: 540 }),
          input('guest', 2, { ImageWidth: 240, ImageHeight: 135, LocationX: 700, LocationY: 380 }),
        ]),
      ),
    );
    expect([sized.output.width, sized.output.height]).toEqual([960, 540]);
    expect(sized.inputs[0]!.region).toEqual({ x: 0, y: 0, width: 960, height: 540 });
    const own = laid(
      layoutMix(request([input('host', 1)]), (n) => (n === 'host' ? { width: 640, height: 480 } : undefined)),
    );
    expect([own.output.width, own.output.height]).toEqual([640, 480]);
    const none = laid(layoutMix(request([input('host', 1)])));
    expect([none.output.width, none.output.height]).toEqual([
      DEFAULT_MIX_SIZE.width,
      DEFAULT_MIX_SIZE.height,
    ]);
  });

  it('an input without a size keeps its crop size, else its own size; sizes are made even', () => {
    const mix = laid(
      layoutMix(
        request([
          canvas,
          input(
            'a',
            2,
            { LocationX: 10, LocationY: 10 },
            { CropWidth: 201, CropHeight: 99, CropStartLocationX: 5 },
          ),
          input('b', 3, { LocationX: 400 }),
        ]),
        (n) => (n === 'b' ? { width: 320, height: 240 } : { width: 640, height: 360 }),
      ),
    );
    expect(mix.inputs[0]!.region).toEqual({ x: 10, y: 10, width: 202, height: 100 });
    expect(mix.inputs[0]!.crop).toEqual({ x: 5, y: 0, width: 201, height: 99 });
    expect(mix.inputs[1]!.region).toEqual({ x: 400, y: 0, width: 320, height: 240 });
  });

  it('audio-only inputs are heard, not placed; with only those the output has no video', () => {
    const mix = laid(layoutMix(request([input('a', 1, { InputType: 4 }), input('b', 2, { InputType: 4 })])));
    expect(mix.video).toBe(false);
    expect(mix.inputs.map((i) => [i.kind, i.region])).toEqual([
      ['audio', undefined],
      ['audio', undefined],
    ]);
    const seen = laid(
      layoutMix(request([canvas, input('v', 2, { InputType: 5, ImageWidth: 100, ImageHeight: 100 })])),
    );
    expect(seen.inputs[0]!.kind).toBe('video');
  });

  it('chooses what Tencent leaves to the system: 25 fps, 2 s GOP, 64 kbit/s 48 kHz stereo, about 0.1 bit per pixel', () => {
    expect(laid(layoutMix(request([canvas]))).output).toEqual({
      name: 'mix_1001',
      type: 1,
      width: 1280,
      height: 720,
      videoKbps: 2304,
      gopSeconds: 2,
      fps: 25,
      audioKbps: 64,
      sampleRate: 48000,
      channels: 2,
    });
  });

  it('takes app/stream names and an output that replaces an input (type 0)', () => {
    const mix = laid(
      layoutMix(
        request([input('live/host', 1), input('guest', 2)], {
          OutputStreamName: 'host',
          OutputStreamType: 0,
        }),
      ),
    );
    expect(mix.output.type).toBe(0);
    expect(mix.inputs[0]!.name).toBe('live/host');
  });

  const many = Array.from({ length: 17 }, (_, i) => input(`s${i}`, (i % 16) + 1));
  it.each([
    ['an empty list', request([]), -1],
    ['17 inputs', request(many), -3],
    ['a repeated layer', request([input('a', 1), input('b', 1)]), -11],
    ['layer 0', request([input('a', 0)]), -11],
    ['layer 17', request([input('a', 17)]), -11],
    ['an image watermark', request([canvas, input('logo', 2, { InputType: 2, WatermarkId: 1 })]), -4],
    ['InputType 8', request([canvas, input('x', 2, { InputType: 8 })]), -4],
    ['a stream name with a space', request([input('a b', 1)]), -4],
    ['a canvas without a size', request([input('c', 1, { InputType: 3 })]), -28],
    ['a width of 0.995', request([canvas, input('a', 2, { ImageWidth: 0.995 })]), -4],
    ['a width of 2001 pixels', request([canvas, input('a', 2, { ImageWidth: 2001 })]), -4],
    ['a crop without a size', request([canvas, input('a', 2, {}, { CropStartLocationX: 4 })]), 0],
    ['a crop of -1', request([canvas, input('a', 2, {}, { CropWidth: -1, CropHeight: 4 })]), -29],
    [
      'an output named as an input with type 1',
      request([input('a', 1)], { OutputStreamName: 'a', OutputStreamType: 1 }),
      -111,
    ],
    [
      'type 0 naming no input',
      request([input('a', 1)], { OutputStreamName: 'zz', OutputStreamType: 0 }),
      -111,
    ],
    ['a bitrate of 0', request([canvas], { OutputStreamBitRate: 0 }), -31004],
    ['a sample rate of 44000', request([canvas], { OutputAudioSampleRate: 44000 }), -4],
    ['3 channels', request([canvas], { OutputAudioChannels: 3 }), -4],
    ['a GOP of 11 s', request([canvas], { OutputStreamGop: 11 }), -4],
  ])('refuses %s with err_code %i', (_name, req, code) => {
    const result = layoutMix(req);
    if (code === 0) {
      expect(isRefusal(result)).toBe(false);
      return;
    }
    expect(isRefusal(result) && result.code).toBe(code);
  });

  it('refuses a crop outside a publishing input (-29), and takes it while the input is absent', () => {
    const req = request([
      canvas,
      input('a', 2, {}, { CropWidth: 400, CropHeight: 300, CropStartLocationX: 300 }),
    ]);
    expect(isRefusal(layoutMix(req, () => ({ width: 640, height: 360 })))).toBe(true);
    expect((layoutMix(req, () => ({ width: 640, height: 360 })) as { code: number }).code).toBe(-29);
    expect(isRefusal(layoutMix(req))).toBe(false);
  });
});

describe('preset layouts (MixStreamTemplateId)', () => {
  const seen = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      InputStreamName: `u${i}`,
      LayoutParams: { ImageLayer: i + 1, ...(i === 0 ? { ImageWidth: 640, ImageHeight: 360 } : {}) },
    }));
  const request = (templateId: number, inputs: ReturnType<typeof seen>) => ({
    MixStreamSessionId: 'p',
    MixStreamTemplateId: templateId,
    InputStreamList: inputs,
    OutputParams: { OutputStreamName: 'out', OutputStreamType: 1 },
  });

  it('30 splits left and right, scaled to fit; layer 1 sets the size', () => {
    const layout = layoutMix(request(30, seen(2))) as MixLayout;
    expect(layout.output).toMatchObject({ width: 640, height: 360 });
    expect(layout.inputs.map((i) => [i.region, i.fit])).toEqual([
      [{ x: 0, y: 0, width: 320, height: 360 }, 'contain'],
      [{ x: 320, y: 0, width: 320, height: 360 }, 'contain'],
    ]);
  });

  it('610: the background and five windows of a third, 20 px from the edges', () => {
    const layout = layoutMix(request(610, seen(6))) as MixLayout;
    expect(layout.inputs[0]!.region).toEqual({ x: 0, y: 0, width: 640, height: 360 });
    expect(layout.inputs[1]!.region).toEqual({ x: 20, y: 20, width: 214, height: 120 });
    expect(layout.inputs[2]!.region).toMatchObject({ x: 407, y: 220 });
  });

  it('an input’s own size or place overrides its preset region; audio-only inputs do not count', () => {
    const inputs = [
      ...seen(2),
      { InputStreamName: 'voice', LayoutParams: { ImageLayer: 3, InputType: 4 } },
    ] as ReturnType<typeof seen>;
    inputs[1]!.LayoutParams = {
      ImageLayer: 2,
      ImageWidth: 100,
      ImageHeight: 100,
      LocationX: 10,
      LocationY: 10,
    } as never;
    const layout = layoutMix(request(10, inputs)) as MixLayout;
    expect(layout.inputs[1]).toMatchObject({ region: { x: 10, y: 10, width: 100, height: 100 } });
    expect(layout.inputs[1]!.fit).toBeUndefined();
  });

  it.each([
    ['a count the template does not take', request(410, seen(2)), /takes 4 seen inputs, not 2/],
    ['an unknown template', request(20, seen(2)), /20 is not one of 10, 30, 40/],
    ['390 without a canvas', request(390, seen(3)), /needs a canvas/],
  ])('refuses %s with -20', (_what, req, message) => {
    const refused = layoutMix(req);
    expect(refused).toMatchObject({ code: -20 });
    expect((refused as { message: string }).message).toMatch(message);
  });
});
