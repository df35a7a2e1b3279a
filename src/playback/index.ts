export { PlaybackServer, registerPlaybackRoutes, signedRawRoutes } from './playback-routes.js';
export { checkSignature, signQuery, signUrl } from './signed-url.js';
export { VideoUrls, playbackPath } from './video-urls.js';
