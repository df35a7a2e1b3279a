import type { StepResult } from './report.js';

const COLORS: Record<string, string> = {
  recorder: '#d62728',
  'recorder-native': '#ff7f0e',
  'nginx-rtmp': '#1f77b4',
  mediamtx: '#2ca02c',
};
const PANEL = { width: 420, height: 300, left: 60, right: 20, top: 40, bottom: 45 };

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round axis maximum at or above `value`: 1, 2 or 5 times a power of ten. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function panel(
  steps: readonly StepResult[],
  targets: readonly string[],
  x0: number,
  title: string,
  value: (s: StepResult) => number,
): string {
  const { width, height, left, right, top, bottom } = PANEL;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const maxX = niceMax(Math.max(...steps.map((s) => s.slots)));
  const maxY = niceMax(Math.max(...steps.map(value)));
  const px = (x: number) => x0 + left + (x / maxX) * plotW;
  const py = (y: number) => top + plotH - (y / maxY) * plotH;
  const parts: string[] = [
    `<text x="${x0 + width / 2}" y="22" text-anchor="middle" font-weight="bold">${escape(title)}</text>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(maxX)}" y2="${py(0)}" stroke="#333"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(maxY)}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = (maxY * i) / 4;
    const x = (maxX * i) / 4;
    parts.push(
      `<line x1="${px(0)}" y1="${py(y)}" x2="${px(maxX)}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${px(0) - 6}" y="${py(y) + 4}" text-anchor="end">${+y.toFixed(1)}</text>`,
      `<text x="${px(x)}" y="${py(0) + 18}" text-anchor="middle">${+x.toFixed(1)}</text>`,
    );
  }
  parts.push(`<text x="${px(maxX / 2)}" y="${height - 6}" text-anchor="middle">concurrent slots</text>`);
  for (const target of targets) {
    const points = steps
      .filter((s) => s.target === target)
      .sort((a, b) => a.slots - b.slots)
      .map((s) => ({ x: px(s.slots), y: py(value(s)), pass: s.pass }));
    if (points.length === 0) continue;
    const color = COLORS[target] ?? '#555';
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')}"/>`,
      // A hollow point: the target lost frames or fell behind at that N.
      ...points.map(
        (p) =>
          `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="4" stroke="${color}" stroke-width="2" fill="${p.pass ? color : 'white'}"/>`,
      ),
    );
  }
  return parts.join('\n');
}

/** SVG of slots against CPU % and RSS MiB (whole process trees), one line per target. */
export function slotsChart(steps: readonly StepResult[], subtitle: string): string {
  const targets = [...new Set(steps.map((s) => s.target))];
  const width = PANEL.width * 2;
  const legendY = PANEL.height + 10;
  const height = legendY + 40;
  const legend = targets
    .map((t, i) => {
      const x = 70 + i * 170;
      return `<line x1="${x}" y1="${legendY + 6}" x2="${x + 24}" y2="${legendY + 6}" stroke="${COLORS[t] ?? '#555'}" stroke-width="3"/><text x="${x + 30}" y="${legendY + 10}">${escape(t)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${panel(steps, targets, 0, 'CPU % (100 = one core), process tree', (s) => s.cpuPercent)}
${panel(steps, targets, PANEL.width, 'RSS MiB, process tree', (s) => s.rssMiB)}
${legend}
<text x="${width - 10}" y="${legendY + 10}" text-anchor="end" fill="#555">hollow: lost frames or lag ≥ 1 segment</text>
<text x="${width - 10}" y="${legendY + 30}" text-anchor="end" fill="#555">${escape(subtitle)}</text>
</svg>
`;
}
