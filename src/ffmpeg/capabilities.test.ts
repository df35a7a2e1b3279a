import { describe, expect, it } from 'vitest';
import { capableFfmpeg } from '../../test/helpers/fixtures.js';
import { parseFlvTags } from '../load/flv.js';
import { resolveFfmpegPath } from './locate.js';
import { probeCapabilities, probeFlv } from './capabilities.js';

describe('ffmpeg capability probe', () => {
  it.each([
    ['hevcEnhanced', 0x90, 'hvc1'],
    ['av1Enhanced', 0x90, 'av01'],
    ['hevcCodecId12', 0x1c, undefined],
    ['opusEnhanced', 0x90, 'Opus'],
  ] as const)('the %s sample is one sequence-start tag', (sample, first, fourcc) => {
    const [tag, ...rest] = parseFlvTags(probeFlv(sample));
    expect(rest).toEqual([]);
    expect(tag!.type).toBe(sample === 'opusEnhanced' ? 8 : 9);
    expect(tag!.data[0]).toBe(first);
    if (fourcc) expect(tag!.data.toString('latin1', 1, 5)).toBe(fourcc);
    else expect(tag!.data[1]).toBe(0);
  });

  it('the bundled ffmpeg 4.1 reads none of them; a current one reads all three', async () => {
    expect(await probeCapabilities(resolveFfmpegPath(undefined))).toMatchObject({
      hevcEnhanced: false,
      hevcCodecId12: false,
      av1Enhanced: false,
      opusEnhanced: false,
    });
    const capable = await probeCapabilities(capableFfmpeg());
    expect(capable).toMatchObject({
      hevcEnhanced: true,
      hevcCodecId12: true,
      av1Enhanced: true,
      opusEnhanced: true,
    });
    expect(capable.version).toMatch(/^ffmpeg version /);
  });

  it('a binary that cannot run reads nothing, and says so', async () => {
    const caps = await probeCapabilities('/nonexistent/ffmpeg');
    expect(caps).toMatchObject({
      version: 'unknown',
      hevcEnhanced: false,
      hevcCodecId12: false,
      av1Enhanced: false,
    });
  });
});
