export {
  NATIVE_AUDIO,
  NATIVE_AUDIO_IN,
  NATIVE_FORMATS,
  NATIVE_VIDEO,
  type NativeAudio,
  type NativeFormat,
} from './containers.js';
export { NativeMuxer, type MuxerExit, type NativeMuxerOptions, type NativeOutput } from './native-muxer.js';
export { faststartMp4 } from './faststart.js';
