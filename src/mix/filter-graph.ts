import type { MixLayout } from './layout.js';

/** The `-filter_complex` of a mix, and the labels its encoders take. */
export interface MixGraph {
  filter: string;
  /** Label of the mixed picture; undefined for an audio-only mix. */
  video: string | undefined;
  /** Label of the mixed sound (silence when no input is heard). */
  audio: string;
}

/**
 * The background of a mix as ffmpeg's input 0 (pure): the canvas colour at the output's size and rate, with
 * silence, made by lavfi's `color` and `anullsrc`. It is an input, not a source inside the graph, so a graph that
 * ffmpeg rebuilds when an input changes size carries on with the same timestamps; and made in ffmpeg, not piped,
 * so nothing is encoded to be decoded again.
 */
export function backgroundInput(layout: MixLayout): string[] {
  const { output } = layout;
  const silence = `anullsrc=r=${output.sampleRate}:cl=${output.channels === 1 ? 'mono' : 'stereo'}`;
  const source = layout.video
    ? `color=c=${layout.color}:s=${output.width}x${output.height}:r=${output.fps}[out0];${silence}[out1]`
    : silence;
  return ['-f', 'lavfi', '-i', source];
}

/**
 * The ffmpeg filter graph of a laid-out mix. Pure: input 0 is the background (`backgroundInput`), and `indexOf`
 * gives the ffmpeg input index (1 and up) of each input name. The background sets the pace at the output's rate;
 * each seen input is cropped, scaled to its region and overlaid in layer order; every heard input is mixed by
 * `amix` at the output's rate and channels (with none, the background's silence is the sound).
 */
export function buildMixGraph(layout: MixLayout, indexOf: (name: string) => number): MixGraph {
  const { output } = layout;
  const chains: string[] = [];
  let video: string | undefined;
  if (layout.video) {
    chains.push(`[0:v]scale=${output.width}:${output.height},setsar=1,fps=${output.fps}[bg0]`);
    video = 'bg0';
    let n = 0;
    for (const input of layout.inputs) {
      if (input.kind === 'audio' || !input.region) continue;
      const i = indexOf(input.name);
      const { crop, region } = input;
      const cropped = crop ? `crop=${crop.width}:${crop.height}:${crop.x}:${crop.y},` : '';
      const next = `bg${++n}`;
      // An input that ends leaves its last frame; the background goes on (shortest=0) and sets the pace.
      const overlay = 'eof_action=pass:shortest=0';
      if (input.fit === 'contain') {
        // Scaled to fit, aspect kept, centred: overlay's w and h are the scaled picture's size.
        chains.push(
          `[${i}:v]${cropped}scale=${region.width}:${region.height}:force_original_aspect_ratio=decrease,setsar=1[v${i}]`,
        );
        const x = `${region.x}+(${region.width}-w)/2`;
        const y = `${region.y}+(${region.height}-h)/2`;
        chains.push(`[${video}][v${i}]overlay=x='${x}':y='${y}':${overlay}[${next}]`);
      } else {
        chains.push(`[${i}:v]${cropped}scale=${region.width}:${region.height},setsar=1[v${i}]`);
        chains.push(`[${video}][v${i}]overlay=x=${region.x}:y=${region.y}:${overlay}[${next}]`);
      }
      video = next;
    }
    chains.push(`[${video}]format=yuv420p[vout]`);
    video = 'vout';
  }
  const heard = layout.inputs.filter((i) => i.kind !== 'video').map((input) => indexOf(input.name));
  const layoutName = output.channels === 1 ? 'mono' : 'stereo';
  const format = `aresample=${output.sampleRate},aformat=sample_rates=${output.sampleRate}:channel_layouts=${layoutName}`;
  const labels = (heard.length ? heard : [0]).map((i) => {
    chains.push(`[${i}:a]${format}[a${i}]`);
    return `[a${i}]`;
  });
  {
    // amix divides by the number of inputs; scaled back so each voice keeps its level.
    const mixed =
      labels.length === 1
        ? `${labels[0]}anull[aout]`
        : `${labels.join('')}amix=inputs=${labels.length}:duration=longest:dropout_transition=0,volume=${labels.length}[aout]`;
    chains.push(mixed);
  }
  return { filter: chains.join(';'), video, audio: 'aout' };
}

/** What follows a mix's inputs on ffmpeg's command line: its graph and its encoders (pure). */
export function mixEncodeArgs(layout: MixLayout, graph: MixGraph, x264Preset: string): string[] {
  const { output } = layout;
  const gop = String(output.fps * output.gopSeconds);
  const kbps = output.videoKbps;
  const video = graph.video
    ? [
        ...['-map', `[${graph.video}]`, '-c:v', 'libx264', '-preset', x264Preset, '-tune', 'zerolatency'],
        ...['-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps * 2}k`],
        ...[
          '-g',
          gop,
          '-keyint_min',
          gop,
          '-sc_threshold',
          '0',
          '-r',
          String(output.fps),
          '-pix_fmt',
          'yuv420p',
        ],
      ]
    : [];
  return [
    ...['-filter_complex', graph.filter, ...video],
    ...['-map', `[${graph.audio}]`, '-c:a', 'aac', '-b:a', `${output.audioKbps}k`],
    ...['-ar', String(output.sampleRate), '-ac', String(output.channels)],
  ];
}
