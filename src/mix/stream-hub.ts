import type { MediaPacket, PublishRequest, PublishSink } from '../ingest/index.js';

/** Receives the packets of one live stream, from whatever publish carries it now. */
export interface StreamListener {
  /** A publish of the stream began (or was already on when the listener came): its headers follow. */
  onPublish(request: PublishRequest, headers: readonly MediaPacket[]): void;
  onPacket(packet: MediaPacket): void;
  onUnpublish(): void;
}

interface Live {
  request: PublishRequest;
  /** The newest metadata and sequence headers, by kind: what a listener joining mid-publish needs first. */
  headers: Map<string, MediaPacket>;
}

/**
 * Every accepted publish's packets, by `app/stream`, for those who use live streams as inputs (a mix). The
 * ingest's sink is wrapped: packets still go to the recording first, untouched.
 */
export class StreamHub {
  readonly #live = new Map<string, Live>();
  readonly #listeners = new Map<string, Set<StreamListener>>();
  readonly #watchers = new Set<(request: PublishRequest, live: boolean) => void>();

  /** Told of every publish that starts (live true) or ends (false), whatever its stream. */
  watch(watcher: (request: PublishRequest, live: boolean) => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** Wraps the sink of an accepted publish so its packets reach the stream's listeners too. */
  tap(request: PublishRequest, sink: PublishSink): PublishSink {
    const key = `${request.app}/${request.stream}`;
    const live: Live = { request, headers: new Map() };
    this.#live.set(key, live);
    for (const listener of this.#listeners.get(key) ?? []) listener.onPublish(request, []);
    for (const watcher of this.#watchers) watcher(request, true);
    return {
      onPacket: (packet) => {
        sink.onPacket(packet);
        if (packet.kind === 'script' || packet.isSequenceHeader) live.headers.set(packet.kind, packet);
        for (const listener of this.#listeners.get(key) ?? []) listener.onPacket(packet);
      },
      onEnd: (reason) => {
        sink.onEnd(reason);
        if (this.#live.get(key) !== live) return;
        this.#live.delete(key);
        for (const listener of this.#listeners.get(key) ?? []) listener.onUnpublish();
        for (const watcher of this.#watchers) watcher(request, false);
      },
    };
  }

  /** Listens to a stream; told at once if it is publishing. Returns the unsubscribe. */
  listen(app: string, stream: string, listener: StreamListener): () => void {
    const key = `${app}/${stream}`;
    let set = this.#listeners.get(key);
    if (!set) this.#listeners.set(key, (set = new Set()));
    set.add(listener);
    const live = this.#live.get(key);
    if (live) listener.onPublish(live.request, [...live.headers.values()]);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(key) === set) this.#listeners.delete(key);
    };
  }

  /** The picture size a live stream announced in its metadata; undefined when it is not publishing. */
  sizeOf(app: string, stream: string): { width: number; height: number } | undefined {
    const meta = this.#live.get(`${app}/${stream}`)?.headers.get('script')?.metadata;
    const width = Number(meta?.width);
    const height = Number(meta?.height);
    return width > 0 && height > 0 ? { width, height } : undefined;
  }

  /** The request of a stream's current publish. */
  requestOf(app: string, stream: string): PublishRequest | undefined {
    return this.#live.get(`${app}/${stream}`)?.request;
  }
}
