import type { Config } from '../config/schema.js';
import type { MediaTimeline } from '../media/media-index.js';
import type { Logger } from '../shared/logger.js';
import type { UploadQueue } from '../storage/upload-queue.js';
import { liveSpans } from './media-time.js';
import { Timeline, type ImOutcome } from './timeline.js';
import type { TimelineStore } from './timeline-store.js';

export { Timeline, type ImOutcome, type MarkerView } from './timeline.js';
export { FileTimelineStore, type SidecarRender, type TimelineStore } from './timeline-store.js';

/** Recording states in which a stream's recording takes markers and room events. */
const OPEN_STATES = new Set(['starting', 'recording', 'interrupted']);

/** The timeline of the recorder's config: IM groups mapped to streams, events kept in `store`. */
export function createTimeline(o: {
  config: Pick<Config, 'im' | 'mix'>;
  store: TimelineStore;
  /** Every node's open work (the cluster's registry, or this node's). */
  work: { list(): Promise<{ items: { kind: string; subject: string; state: string }[] }[]> };
  /** This node's recording of a stream, for the media time of a marker set on it. */
  sessionOf(
    app: string,
    stream: string,
  ):
    | {
        segments: readonly { programDateTime: Date; durationSeconds: number; discontinuity: boolean }[];
        currentRun: { firstMediaWallMs: number | undefined } | undefined;
      }
    | undefined;
  uploads: Pick<UploadQueue, 'enqueue'>;
  catalog: { setTimeline(fileId: string, timeline: MediaTimeline): Promise<boolean> };
  onOutcome?: (outcome: ImOutcome, count: number) => void;
  logger: Logger;
}): Timeline {
  const { im, mix } = o.config;
  return new Timeline({
    store: o.store,
    groups: {
      groups: im.groups,
      ...(im.roomGroups ? { rooms: { pattern: new RegExp(mix.auto.pattern), output: mix.auto.output } } : {}),
    },
    productField: im.productField,
    openStreams: async () =>
      (await o.work.list()).flatMap((node) =>
        node.items.filter((i) => i.kind === 'recording' && OPEN_STATES.has(i.state)).map((i) => i.subject),
      ),
    liveSpans: (app, stream) => {
      const session = o.sessionOf(app, stream);
      if (!session) return undefined;
      const segments = session.segments.map((s) => ({
        startMs: s.programDateTime.getTime(),
        durationSeconds: s.durationSeconds,
        discontinuity: s.discontinuity,
      }));
      return liveSpans(segments, session.currentRun?.firstMediaWallMs, Date.now());
    },
    storeObjects: async (objects, retentionDays) => {
      for (const object of objects) {
        await o.uploads.enqueue(`timeline/${object.key}`, [
          { kind: 'text', text: object.text, key: object.key, retentionDays },
        ]);
      }
    },
    catalog: o.catalog,
    ...(o.onOutcome ? { onOutcome: o.onOutcome } : {}),
    logger: o.logger,
  });
}
