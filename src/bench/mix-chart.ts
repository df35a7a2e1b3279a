import { niceMax } from './chart.js';

/** One case of the mix bench as the chart shows it: the recorder and the bare ffmpeg command side by side. */
export interface MixChartCase {
  /** e.g. "2 in, 640x360". */
  label: string;
  /** Most concurrent mixes that kept real time (0: not even one). */
  maxRecorder: number;
  maxBare: number;
  /** CPU % of one core per mix at one mix: the recorder's whole cost, and the bare command's. */
  cpuRecorder: number;
  cpuBare: number;
}

const COLORS = { recorder: '#d62728', bare: '#7f7f7f' };
const PANEL = { width: 460, height: 300, left: 50, right: 15, top: 40, bottom: 70 };

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function bars(
  cases: readonly MixChartCase[],
  x0: number,
  title: string,
  pick: (c: MixChartCase) => [number, number],
): string {
  const { width, height, left, right, top, bottom } = PANEL;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const maxY = niceMax(Math.max(...cases.flatMap(pick)));
  const py = (y: number) => top + plotH - (y / maxY) * plotH;
  const slot = plotW / Math.max(1, cases.length);
  const barW = Math.min(24, slot / 3);
  const parts = [
    `<text x="${x0 + width / 2}" y="22" text-anchor="middle" font-weight="bold">${escape(title)}</text>`,
    `<line x1="${x0 + left}" y1="${py(0)}" x2="${x0 + left + plotW}" y2="${py(0)}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = (maxY * i) / 4;
    parts.push(
      `<line x1="${x0 + left}" y1="${py(y)}" x2="${x0 + left + plotW}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${x0 + left - 6}" y="${py(y) + 4}" text-anchor="end">${+y.toFixed(1)}</text>`,
    );
  }
  cases.forEach((c, i) => {
    const cx = x0 + left + slot * (i + 0.5);
    const [recorder, bare] = pick(c);
    for (const [value, color, dx] of [
      [recorder, COLORS.recorder, -barW],
      [bare, COLORS.bare, 0],
    ] as const) {
      parts.push(
        `<rect x="${(cx + dx).toFixed(1)}" y="${py(value).toFixed(1)}" width="${barW.toFixed(1)}" height="${(py(0) - py(value)).toFixed(1)}" fill="${color}"><title>${value}</title></rect>`,
        `<text x="${(cx + dx + barW / 2).toFixed(1)}" y="${(py(value) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${value}</text>`,
      );
    }
    parts.push(
      `<text x="${cx.toFixed(1)}" y="${py(0) + 16}" text-anchor="end" transform="rotate(-30 ${cx.toFixed(1)} ${py(0) + 16})">${escape(c.label)}</text>`,
    );
  });
  return parts.join('\n');
}

/** SVG of the mix bench: most real-time mixes per case, and CPU per mix, the recorder beside the bare command. */
export function mixChart(cases: readonly MixChartCase[], subtitle: string): string {
  const width = PANEL.width * 2;
  const legendY = PANEL.height + 10;
  const height = legendY + 40;
  const legend = [
    ['recorder (whole cost)', COLORS.recorder],
    ['bare ffmpeg command', COLORS.bare],
  ]
    .map(
      ([name, color], i) =>
        `<rect x="${70 + i * 220}" y="${legendY}" width="14" height="12" fill="${color}"/><text x="${90 + i * 220}" y="${legendY + 10}">${escape(name!)}</text>`,
    )
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${bars(cases, 0, 'Most concurrent mixes in real time', (c) => [c.maxRecorder, c.maxBare])}
${bars(cases, PANEL.width, 'CPU % of one core per mix (one mix)', (c) => [c.cpuRecorder, c.cpuBare])}
${legend}
<text x="${width - 10}" y="${legendY + 30}" text-anchor="end" fill="#555">${escape(subtitle)}</text>
</svg>
`;
}
