import type { RecordFormat } from '../../config/schema.js';
import { aacOutput } from './aac.js';
import { flvOutput } from './flv.js';
import type { OutputFormat } from './format.js';
import { hlsOutput } from './hls.js';
import { mp4Output } from './mp4.js';

export {
  listFileName,
  workFileName,
  workFileNumber,
  workFileRegExp,
  type OutputFormat,
  type OutputSpec,
} from './format.js';

export const OUTPUTS: Readonly<Record<RecordFormat, OutputFormat>> = {
  hls: hlsOutput,
  flv: flvOutput,
  mp4: mp4Output,
  aac: aacOutput,
};
