import type { Rect } from './layout.js';

/** The preset layouts of CreateCommonMixStream's MixStreamTemplateId, and how many seen inputs each takes. */
export const PRESET_INPUTS: Readonly<Record<number, number>> = Object.freeze({
  10: 2,
  30: 2,
  40: 2,
  310: 3,
  390: 3,
  410: 4,
  510: 5,
  610: 6,
});

/** Templates whose layer 1 must be a canvas (InputType 3), as Tencent says of 390. */
export const CANVAS_PRESETS: ReadonlySet<number> = new Set([390]);

/** The margin of a small window from the edges, as Tencent's template notes give it. */
const MARGIN = 20;

/**
 * The regions of a preset on a `width`x`height` background, one per seen input in layer order (the first is
 * layer 1: the background, or the canvas for 390). Pure. Tencent documents the presets as pictures; the
 * geometry is our reading of them and of its template notes (see the README): 10 is picture in picture, 30
 * and 40 split the picture left/right and top/bottom, 310 and 410 are the background with two and three small
 * windows down the right, 390 is two halves side by side on a canvas ("PK"), and 510 and 610 are the background
 * with four and five windows of a third at the corners (610 also bottom centre).
 */
export function presetRegions(templateId: number, width: number, height: number): Rect[] | undefined {
  const full: Rect = { x: 0, y: 0, width, height };
  const rect = (x: number, y: number, w: number, h: number): Rect => ({
    x: Math.round(x),
    y: Math.round(y),
    width: Math.round(w),
    height: Math.round(h),
  });
  const [w3, h3] = [width / 3, height / 3];
  const corners = {
    topLeft: rect(MARGIN, MARGIN, w3, h3),
    bottomRight: rect(width - MARGIN - w3, height - MARGIN - h3, w3, h3),
    topRight: rect(width - MARGIN - w3, MARGIN, w3, h3),
    bottomLeft: rect(MARGIN, height - MARGIN - h3, w3, h3),
    bottomCentre: rect((width - w3) / 2, height - MARGIN - h3, w3, h3),
  };
  switch (templateId) {
    case 10:
      return [full, rect(MARGIN, MARGIN, width / 4, height / 4)];
    case 30:
      return [rect(0, 0, width / 2, height), rect(width / 2, 0, width / 2, height)];
    case 40:
      return [rect(0, 0, width, height / 2), rect(0, height / 2, width, height / 2)];
    case 310: {
      const [w, h] = [width / 4, height / 4];
      return [
        full,
        rect(width - MARGIN - w, height - 2 * (MARGIN + h), w, h),
        rect(width - MARGIN - w, height - MARGIN - h, w, h),
      ];
    }
    case 390:
      return [
        full,
        rect(0, height / 4, width / 2, height / 2),
        rect(width / 2, height / 4, width / 2, height / 2),
      ];
    case 410: {
      const [w, h] = [width * 0.3, height / 4];
      return [full, ...[0.15, 0.4, 0.65].map((y) => rect(width - w, height * y, w, h))];
    }
    case 510:
      return [full, corners.topLeft, corners.bottomRight, corners.topRight, corners.bottomLeft];
    case 610:
      return [
        full,
        corners.topLeft,
        corners.bottomRight,
        corners.topRight,
        corners.bottomCentre,
        corners.bottomLeft,
      ];
    default:
      return undefined;
  }
}

/** A grid that fits `count` inputs on a `width`x`height` picture, in reading order (pure). */
export function gridRegions(count: number, width: number, height: number): Rect[] {
  const cols = Math.max(1, Math.ceil(Math.sqrt(count)));
  const rows = Math.max(1, Math.ceil(count / cols));
  const [w, h] = [Math.floor(width / cols), Math.floor(height / rows)];
  return Array.from({ length: count }, (_, i) => ({
    x: (i % cols) * w,
    y: Math.floor(i / cols) * h,
    width: w,
    height: h,
  }));
}
