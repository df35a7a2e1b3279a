import { describe, expect, it } from 'vitest';
import { mixChart } from './mix-chart.js';

describe('mixChart', () => {
  const cases = [
    { label: '2 in, 640x360', maxRecorder: 12, maxBare: 14, cpuRecorder: 9.5, cpuBare: 9.2 },
    { label: '9 in, 1280x720', maxRecorder: 4, maxBare: 5, cpuRecorder: 31, cpuBare: 29.7 },
  ];
  const svg = mixChart(cases, 'one run, 2 cores');

  it('draws a bar for the recorder and for the bare command of each case, in each panel', () => {
    expect(svg.match(/<rect x=/g)).toHaveLength(cases.length * 2 * 2 + 2);
    for (const value of [12, 14, 4, 5, 9.5, 9.2, 31, 29.7]) expect(svg).toContain(`<title>${value}</title>`);
  });

  it('scales bars to the panel: the tallest reaches the axis maximum at most', () => {
    const heights = [...svg.matchAll(/height="([\d.]+)" fill="#(?:d62728|7f7f7f)"><title>/g)].map((m) =>
      Number(m[1]),
    );
    expect(Math.max(...heights)).toBeLessThanOrEqual(190);
    expect(Math.min(...heights)).toBeGreaterThan(0);
  });

  it('escapes its labels', () => {
    expect(mixChart([{ ...cases[0]!, label: 'a<b' }], 's&t')).toContain('a&lt;b');
  });
});
