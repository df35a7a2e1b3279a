import { text } from 'node:stream/consumers';
import { sidecarKeys, thumbnailKeys } from '../naming/names.js';
import { AppError } from '../shared/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { parsePlaylist } from './hls-playlist.js';

/** Every object of one media: the file itself, or an HLS playlist and each segment it names; its thumbnails and sidecars. */
export async function mediaKeys(store: ObjectStore, key: string): Promise<string[]> {
  if (!(await store.stat(key))) throw new AppError('NOT_FOUND', `no media ${key}`);
  const extras = [...Object.values(thumbnailKeys(key)), ...Object.values(sidecarKeys(key))];
  const made = (await Promise.all(extras.map((k) => store.stat(k)))).flatMap((info, i) =>
    info ? [extras[i]!] : [],
  );
  if (!key.endsWith('.m3u8')) return [key, ...made];
  const dir = key.slice(0, key.lastIndexOf('/') + 1);
  const { segments } = parsePlaylist(await text(await store.get(key)));
  return [key, ...made, ...segments.map((s) => dir + s.uri)];
}

/** Extends, shortens or clears (undefined: keep forever) the expiry of every object of one media. */
export async function setMediaExpiry(
  store: ObjectStore,
  key: string,
  expiresAt: Date | undefined,
): Promise<{ keys: string[]; expiresAt: Date | undefined }> {
  const keys = await mediaKeys(store, key);
  let effective: Date | undefined;
  // The playlist last, so a failure part-way never leaves a playlist outliving its segments' new expiry.
  for (const k of [...keys.slice(1), keys[0]!]) effective = await store.setExpiry(k, expiresAt);
  return { keys, expiresAt: effective };
}
