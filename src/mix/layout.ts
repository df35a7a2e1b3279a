/**
 * Tencent's CreateCommonMixStream request in, a checked layout in pixels out (Live API 2018-08-01). Pure: the
 * sizes of inputs that publish are passed in. Refusals carry Tencent's mix error codes (`err_code [ N ]`).
 */

import { CANVAS_PRESETS, PRESET_INPUTS, presetRegions } from './presets.js';

/** CommonMixLayoutParams, as the official SDK models it. */
export interface CommonMixLayoutParams {
  ImageLayer: number;
  InputType?: number;
  ImageHeight?: number;
  ImageWidth?: number;
  LocationX?: number;
  LocationY?: number;
  Color?: string;
  WatermarkId?: number;
}

/** CommonMixCropParams. */
export interface CommonMixCropParams {
  CropWidth?: number;
  CropHeight?: number;
  CropStartLocationX?: number;
  CropStartLocationY?: number;
}

/** CommonMixInputParam. */
export interface CommonMixInputParam {
  InputStreamName: string;
  LayoutParams: CommonMixLayoutParams;
  CropParams?: CommonMixCropParams;
}

/** CommonMixOutputParams. */
export interface CommonMixOutputParams {
  OutputStreamName: string;
  OutputStreamType?: number;
  OutputStreamBitRate?: number;
  OutputStreamGop?: number;
  OutputStreamFrameRate?: number;
  OutputAudioBitRate?: number;
  OutputAudioSampleRate?: number;
  OutputAudioChannels?: number;
  MixSei?: string;
}

/** CreateCommonMixStreamRequest. */
export interface CreateCommonMixStreamRequest {
  MixStreamSessionId: string;
  InputStreamList: CommonMixInputParam[];
  OutputParams: CommonMixOutputParams;
  MixStreamTemplateId?: number;
}

/** A refusal with Tencent's mix error code (answered as InvalidParameter, `err_code [ N ],msg [ ... ]`). */
export interface MixRefusal {
  code: number;
  message: string;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What one input is to the mix: heard, seen, or both; the canvas is the background itself. */
export type MixInputKind = 'av' | 'audio' | 'video';

/** One input, placed: its region on the output, and the part of its picture that fills it. */
export interface PlacedInput {
  /** The input as named in the request (`stream`, or `app/stream`). */
  name: string;
  layer: number;
  kind: MixInputKind;
  /** Where it is drawn; undefined for audio-only inputs. */
  region: Rect | undefined;
  crop: Rect | undefined;
  /** `contain`: scaled keeping its aspect ratio and centred in its region (presets, grids); else stretched. */
  fit?: 'contain';
}

/** The output the mix encodes, with every value Tencent leaves to "the system" chosen. */
export interface MixOutput {
  name: string;
  /** 1: a new stream; 0: it replaces the input of that name. */
  type: 0 | 1;
  width: number;
  height: number;
  videoKbps: number;
  gopSeconds: number;
  fps: number;
  audioKbps: number;
  sampleRate: number;
  channels: 1 | 2;
}

/** A mix, checked and in pixels: inputs in layer order (1 first), on a background of `color`. */
export interface MixLayout {
  sessionId: string;
  output: MixOutput;
  /** `0xRRGGBB` of the canvas, else black. */
  color: string;
  inputs: PlacedInput[];
  /** False when every input is audio only (TRTC's PureAudio): the output has no video. */
  video: boolean;
}

/** The background size when no canvas gives it and the layer-1 input has not published yet. */
export const DEFAULT_MIX_SIZE = { width: 1280, height: 720 } as const;
const SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000];
const NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** Tencent's answer for a value given as pixels (≥ 1) or as a fraction of the background (0.01..0.99). */
function measure(value: number | undefined, of: number): number | undefined | 'bad' {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) return 'bad';
  if (value >= 1) return value <= 2000 ? value : 'bad';
  if (value === 0) return 0;
  return value >= 0.01 && value <= 0.99 ? value * of : 'bad';
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * Checks a CreateCommonMixStream request and lays it out. `sizeOf` gives the picture size of an input that is
 * publishing (undefined while it is not: it is accepted, and its region shows the background until it comes).
 */
export function layoutMix(
  request: CreateCommonMixStreamRequest,
  sizeOf: (name: string) => { width: number; height: number } | undefined = () => undefined,
  options: { fit?: 'contain' } = {},
): MixLayout | MixRefusal {
  const refuse = (code: number, message: string): MixRefusal => ({ code, message });
  const list = request.InputStreamList ?? [];
  if (!NAME.test(request.MixStreamSessionId ?? '')) {
    return refuse(-1, 'MixStreamSessionId must be 1..80 letters, digits, _ or -');
  }
  if (list.length === 0) return refuse(-1, 'InputStreamList is empty');
  if (list.length > 16) return refuse(-3, `${list.length} inputs; a mix takes 1..16`);
  const layers = list.map((i) => i.LayoutParams?.ImageLayer);
  if (layers.some((l) => !Number.isInteger(l) || l! < 1 || l! > 16)) {
    return refuse(-11, 'ImageLayer must be an integer in 1..16');
  }
  if (new Set(layers).size !== layers.length) return refuse(-11, 'ImageLayer values must not repeat');
  for (const input of list) {
    const name = input.InputStreamName ?? '';
    const [app, stream] = name.includes('/') ? name.split('/', 2) : [undefined, name];
    const type = input.LayoutParams.InputType ?? 0;
    if (type === 3) continue; // a canvas names no stream
    if (!NAME.test(stream ?? '') || (app !== undefined && !NAME.test(app))) {
      return refuse(-4, `InputStreamName ${JSON.stringify(name)}: 1..80 letters, digits or _, or app/stream`);
    }
  }
  for (const input of list) {
    const type = input.LayoutParams.InputType ?? 0;
    if (type === 2) {
      return refuse(-4, `InputType 2 (an image watermark) is not supported: ${input.InputStreamName}`);
    }
    if (![0, 3, 4, 5].includes(type)) return refuse(-4, `InputType ${type} is not one of 0, 3, 4, 5`);
  }
  const canvases = list.filter((i) => (i.LayoutParams.InputType ?? 0) === 3);
  if (canvases.length > 1) return refuse(-4, 'at most one canvas (InputType 3)');
  const canvas = canvases[0];
  const byLayer = [...list].sort((a, b) => a.LayoutParams.ImageLayer - b.LayoutParams.ImageLayer);
  const base = canvas ?? byLayer.find((i) => (i.LayoutParams.InputType ?? 0) !== 4);

  // The background: the canvas's size, else the layer-1 input's (its ImageWidth/Height, else its own size).
  let width: number;
  let height: number;
  if (canvas) {
    const w = canvas.LayoutParams.ImageWidth;
    const h = canvas.LayoutParams.ImageHeight;
    if (w === undefined || h === undefined) return refuse(-28, 'the canvas needs ImageWidth and ImageHeight');
    if (!(w >= 1 && w <= 3000 && h >= 1 && h <= 3000))
      return refuse(-4, 'the canvas size must be in 1..3000 pixels');
    [width, height] = [w, h];
  } else {
    const own = base ? sizeOf(base.InputStreamName) : undefined;
    const w = base?.LayoutParams.ImageWidth;
    const h = base?.LayoutParams.ImageHeight;
    width = w !== undefined && w >= 1 ? w : (own?.width ?? DEFAULT_MIX_SIZE.width);
    height = h !== undefined && h >= 1 ? h : (own?.height ?? DEFAULT_MIX_SIZE.height);
  }
  [width, height] = [even(width), even(height)];

  // A preset gives the regions of the seen inputs (canvas included), in layer order; an input's own size or
  // place overrides its preset region, as Tencent's do.
  const presetOf = new Map<CommonMixInputParam, Rect>();
  const templateId = request.MixStreamTemplateId;
  if (templateId !== undefined) {
    const regions = presetRegions(templateId, width, height);
    if (!regions) {
      return refuse(
        -20,
        `MixStreamTemplateId ${templateId} is not one of ${Object.keys(PRESET_INPUTS).join(', ')}`,
      );
    }
    const seen = byLayer.filter((i) => (i.LayoutParams.InputType ?? 0) !== 4);
    if (seen.length !== PRESET_INPUTS[templateId]) {
      return refuse(
        -20,
        `template ${templateId} takes ${PRESET_INPUTS[templateId]} seen inputs, not ${seen.length}`,
      );
    }
    if (CANVAS_PRESETS.has(templateId) && seen[0] !== canvas) {
      return refuse(-20, `template ${templateId} needs a canvas (InputType 3) on layer 1`);
    }
    seen.forEach((input, i) => presetOf.set(input, regions[i]!));
  }

  const inputs: PlacedInput[] = [];
  for (const input of byLayer) {
    const p = input.LayoutParams;
    const type = p.InputType ?? 0;
    if (type === 3) continue;
    const kind: MixInputKind = type === 4 ? 'audio' : type === 5 ? 'video' : 'av';
    const own = sizeOf(input.InputStreamName);
    let region: Rect | undefined;
    let crop: Rect | undefined;
    if (kind !== 'audio') {
      const c = input.CropParams;
      if (c && (c.CropWidth !== undefined || c.CropHeight !== undefined)) {
        const values = [
          c.CropWidth ?? 0,
          c.CropHeight ?? 0,
          c.CropStartLocationX ?? 0,
          c.CropStartLocationY ?? 0,
        ];
        if (values.some((v) => !Number.isInteger(v) || v < 0 || v > 2000) || !c.CropWidth || !c.CropHeight) {
          return refuse(
            -29,
            `the crop of ${input.InputStreamName} must be whole pixels in 0..2000, with a size`,
          );
        }
        crop = { x: values[2]!, y: values[3]!, width: values[0]!, height: values[1]! };
        if (own && (crop.x + crop.width > own.width || crop.y + crop.height > own.height)) {
          return refuse(
            -29,
            `the crop of ${input.InputStreamName} lies outside its ${own.width}x${own.height} picture`,
          );
        }
      }
      const w = measure(p.ImageWidth, width);
      const h = measure(p.ImageHeight, height);
      const x = measure(p.LocationX, width);
      // Tencent's model says a fraction of LocationY is of the background's width; the height is meant.
      const y = measure(p.LocationY, height);
      if ([w, h, x, y].includes('bad')) {
        return refuse(
          -4,
          `the size or place of ${input.InputStreamName} is outside 0..2000 pixels or 0.01..0.99`,
        );
      }
      const isBase = input === base;
      const fallback = crop ?? own ?? { width, height };
      const preset = presetOf.get(input);
      // Layer 1's size is the background's size, not an override of its region.
      const given = isBase
        ? [p.LocationX, p.LocationY]
        : [p.ImageWidth, p.ImageHeight, p.LocationX, p.LocationY];
      const custom = given.some((v) => v !== undefined);
      if (preset && !custom) {
        region = { x: preset.x, y: preset.y, width: even(preset.width), height: even(preset.height) };
        inputs.push({ name: input.InputStreamName, layer: p.ImageLayer, kind, region, crop, fit: 'contain' });
        continue;
      }
      region = {
        x: isBase ? 0 : Math.round((x as number | undefined) ?? 0),
        y: isBase ? 0 : Math.round((y as number | undefined) ?? 0),
        width: isBase && !canvas ? width : even((w as number | undefined) ?? fallback.width),
        height: isBase && !canvas ? height : even((h as number | undefined) ?? fallback.height),
      };
    }
    inputs.push({
      name: input.InputStreamName,
      layer: p.ImageLayer,
      kind,
      region,
      crop,
      ...(options.fit && region ? { fit: options.fit } : {}),
    });
  }

  const out = request.OutputParams ?? ({} as CommonMixOutputParams);
  if (!NAME.test(out.OutputStreamName ?? ''))
    return refuse(-4, 'OutputStreamName must be 1..80 letters, digits or _');
  const type = out.OutputStreamType ?? 0;
  if (type !== 0 && type !== 1) return refuse(-111, 'OutputStreamType must be 0 or 1');
  const isInput = inputs.some((i) => i.name.split('/').at(-1) === out.OutputStreamName);
  if (type === 1 && isInput) return refuse(-111, 'with OutputStreamType 1 the output must not be an input');
  if (type === 0 && !isInput)
    return refuse(-111, 'with OutputStreamType 0 the output must be one of the inputs');
  const within = (v: number | undefined, lo: number, hi: number) =>
    v === undefined || (Number.isInteger(v) && v >= lo && v <= hi);
  if (!within(out.OutputStreamBitRate, 1, 50000))
    return refuse(-31004, 'OutputStreamBitRate must be 1..50000 kbps');
  if (!within(out.OutputStreamGop, 1, 10)) return refuse(-4, 'OutputStreamGop must be 1..10 s');
  if (!within(out.OutputStreamFrameRate, 1, 60)) return refuse(-4, 'OutputStreamFrameRate must be 1..60');
  if (!within(out.OutputAudioBitRate, 1, 500)) return refuse(-4, 'OutputAudioBitRate must be 1..500 kbps');
  if (out.OutputAudioSampleRate !== undefined && !SAMPLE_RATES.includes(out.OutputAudioSampleRate)) {
    return refuse(-4, `OutputAudioSampleRate must be one of ${SAMPLE_RATES.join(', ')}`);
  }
  if (!within(out.OutputAudioChannels, 1, 2)) return refuse(-4, 'OutputAudioChannels must be 1 or 2');
  const fps = out.OutputStreamFrameRate ?? 25;
  const output: MixOutput = {
    name: out.OutputStreamName,
    type,
    width,
    height,
    // Left to "the system": about 0.1 bit per pixel per frame, the rate of a good live encode at veryfast.
    videoKbps: out.OutputStreamBitRate ?? Math.max(200, Math.round((width * height * fps * 0.1) / 1000)),
    gopSeconds: out.OutputStreamGop ?? 2,
    fps,
    audioKbps: out.OutputAudioBitRate ?? 64,
    sampleRate: out.OutputAudioSampleRate ?? 48000,
    channels: (out.OutputAudioChannels ?? 2) as 1 | 2,
  };
  const color = canvas?.LayoutParams.Color ?? '0x000000';
  if (!/^0x[0-9A-Fa-f]{6}$/.test(color)) return refuse(-4, `Color ${JSON.stringify(color)} must be 0xRRGGBB`);
  return {
    sessionId: request.MixStreamSessionId,
    output,
    color,
    inputs,
    video: inputs.some((i) => i.kind !== 'audio') || canvas !== undefined,
  };
}

/** Whether `layoutMix` refused. */
export function isRefusal(result: MixLayout | MixRefusal): result is MixRefusal {
  return 'code' in result;
}
