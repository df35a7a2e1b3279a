import { text } from 'node:stream/consumers';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rangeParser from 'range-parser';
import { AppError } from '../shared/errors.js';
import { contentTypeOf } from '../storage/content-type.js';
import type { ByteRange, ObjectStore } from '../storage/object-store.js';
import { servedPlaylist } from './served-playlist.js';
import { checkSignature, SIGNED_URL_PARAMS } from './signed-url.js';

export interface PlaybackOptions {
  store: ObjectStore;
  /** playback.key: every media route then wants a URL signed with it. */
  key?: string | undefined;
  now?: () => number;
}

// Keys are app/file names of [A-Za-z0-9._-]; no segment may be hidden (.work, .meta) or empty.
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$/;

/** The signature parameters of a request, in Tencent's order, as the segment URIs of its playlist carry them. */
function signatureQuery(query: URLSearchParams): string {
  return SIGNED_URL_PARAMS.filter((name) => query.has(name))
    .map((name) => `${name}=${encodeURIComponent(query.get(name)!)}`)
    .join('&');
}

/**
 * Plays what a store holds: HLS playlists (segment URIs beside them, carrying the request's signature when
 * signing is on), and files with byte ranges. On MinIO every byte is proxied: a private bucket stays private,
 * and a player needs to reach only the recorder.
 */
export class PlaybackServer {
  readonly #o: PlaybackOptions;
  readonly #now: () => number;

  constructor(options: PlaybackOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get signing(): boolean {
    return this.#o.key !== undefined;
  }

  /** The preview seconds a request may see (0: all), or a 403 when signing is on and it is not signed right. */
  authorize(request: FastifyRequest): number {
    if (!this.#o.key) return 0;
    const [path, search = ''] = request.url.split('?', 2) as [string, string?];
    const check = checkSignature(this.#o.key, path, new URLSearchParams(search), this.#now() / 1000);
    if (!check.ok) throw new AppError('FORBIDDEN', check.reason);
    return check.exper;
  }

  /** Serves the object `key` for a request that passed no check yet. */
  async serve(request: FastifyRequest, reply: FastifyReply, key: string): Promise<FastifyReply> {
    if (!KEY.test(key)) throw new AppError('NOT_FOUND', `no media at ${key}`);
    const preview = this.authorize(request);
    if (key.endsWith('.m3u8')) return this.#playlist(request, reply, key, preview);
    return this.#file(request, reply, key);
  }

  async #playlist(
    request: FastifyRequest,
    reply: FastifyReply,
    key: string,
    preview: number,
  ): Promise<FastifyReply> {
    const stored = await text(await this.#o.store.get(key));
    const query = this.signing ? signatureQuery(new URLSearchParams(request.url.split('?', 2)[1] ?? '')) : '';
    const body = servedPlaylist(stored, {
      // Only relative URIs are ours to sign: they resolve beside the playlist, in the Dir the signature covers.
      segmentUri: (uri) => (query && !/^[a-z]+:/i.test(uri) ? `${uri}?${query}` : uri),
      previewSeconds: preview,
    });
    // A live playlist changes every segment; a player must read it again.
    void reply
      .header('content-type', contentTypeOf(key))
      .header('cache-control', 'no-cache')
      .header('content-length', Buffer.byteLength(body));
    return reply.send(request.method === 'HEAD' ? undefined : body);
  }

  async #file(request: FastifyRequest, reply: FastifyReply, key: string): Promise<FastifyReply> {
    const info = await this.#o.store.stat(key);
    if (!info) throw new AppError('NOT_FOUND', `no media at ${key}`);
    void reply
      .header('accept-ranges', 'bytes')
      .header('content-type', contentTypeOf(key))
      .header('last-modified', info.lastModified.toUTCString());
    let range: ByteRange | undefined;
    const asked = request.headers.range;
    if (asked) {
      const ranges = rangeParser(info.size, asked, { combine: true });
      if (ranges === -1) {
        return reply.code(416).header('content-range', `bytes */${info.size}`).send();
      }
      // A malformed header, or several ranges, gets the whole file, as HTTP allows.
      if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) range = ranges[0]!;
    }
    if (range) {
      void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    }
    void reply.header('content-length', range ? range.end - range.start + 1 : info.size);
    if (request.method === 'HEAD') return reply.send();
    return reply.send(await this.#o.store.get(key, range));
  }
}

/** `GET /play/<app>/<name>`: every recording, from whatever store holds it. */
export function registerPlaybackRoutes(app: FastifyInstance, playback: PlaybackServer): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) =>
    playback.serve(request, reply, (request.params as { '*': string })['*']);
  // HEAD of its own: fastify's automatic one would read a whole object from the store to throw it away.
  app.get('/play/*', { exposeHeadRoute: false }, handler);
  app.head('/play/*', handler);
}

/**
 * The local disk's own routes (`/<app>/<name>`) with signing on: a request must be signed like one of
 * /play/, and a playlist is served with the signature on its segment URIs. Files then go on to the static
 * server, which answers ranges and conditional requests itself.
 */
export function signedRawRoutes(playback: PlaybackServer) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const path = request.url.split('?', 1)[0]!;
    let key: string;
    try {
      key = decodeURIComponent(path.slice(1));
    } catch {
      throw new AppError('NOT_FOUND', `no media at ${path}`);
    }
    if (key.endsWith('.m3u8')) return playback.serve(request, reply, key);
    playback.authorize(request);
    return undefined;
  };
}
