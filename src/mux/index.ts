export { NATIVE_AUDIO, NATIVE_FORMATS, NATIVE_VIDEO, type NativeFormat } from './containers.js';
export { NativeMuxer, type MuxerExit, type NativeMuxerOptions, type NativeOutput } from './native-muxer.js';
