import type { StreamClaims } from '../cluster/index.js';
import type { MixConfig } from '../config/schema.js';
import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import type { AdmitDecision, PublishRequest } from '../ingest/index.js';
import type { Logger } from '../shared/logger.js';
import type { DocumentStore } from '../shared/document-store.js';
import { MixSessionBook } from './mix-book.js';
import { MixService } from './mix-service.js';
import { RoomMixes } from './room-mix.js';
import { StreamHub } from './stream-hub.js';

export { MixService } from './mix-service.js';

/** Mixing as the recorder runs it: the hub pushes reach mixes through, the mix sessions, and the room mix. */
export interface Mixing {
  hub: StreamHub;
  service: MixService;
  /** Stops the room mix and every mixer; API sessions stay kept for the next start. */
  close(): Promise<void>;
}

export function createMixing(options: {
  config: MixConfig;
  /** Where the mix sessions are kept (dataDir/.state/mixes.json, or the cluster's Redis). */
  sessions: DocumentStore;
  ffmpegPath: string;
  capabilities: FfmpegCapabilities;
  /** callback.domain: the push domain outputs count as published on. */
  domain: string | undefined;
  /** The door of every publish (events 1 and 0, then the recording). */
  admit: (request: PublishRequest) => AdmitDecision;
  /** This node, the claims on mix sessions, and the claims on pushes (where each input publishes). */
  nodeId: string;
  mixClaims: StreamClaims;
  streamClaims: StreamClaims;
  logger: Logger;
  onRestart: () => void;
}): Mixing {
  const hub = new StreamHub();
  const service = new MixService({
    store: new MixSessionBook(options.sessions, options.logger),
    hub,
    ffmpegPath: options.ffmpegPath,
    capabilities: options.capabilities,
    x264Preset: options.config.x264Preset,
    defaultApp: options.config.app,
    domain: options.domain,
    admit: options.admit,
    claims: options.mixClaims,
    publisherOf: async (key) => (await options.streamClaims.holderOf(key))?.node,
    nodeId: options.nodeId,
    logger: options.logger,
  });
  service.on('restart', options.onRestart);
  const rooms = options.config.auto.enabled
    ? new RoomMixes({ config: options.config.auto, hub, mixes: service, logger: options.logger })
    : undefined;
  return {
    hub,
    service,
    async close() {
      rooms?.close();
      await service.close();
    },
  };
}
