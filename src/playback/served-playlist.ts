/**
 * A stored HLS playlist as the playback route serves it: every segment URI (and fMP4 init section) rewritten,
 * e.g. to carry the request's signature as Tencent's served playlists do, and cut to a preview's length.
 * Line by line, so everything else in the playlist is kept as written. Pure.
 */

export interface PlaylistServing {
  /** The URI a segment (or init section) is served at. */
  segmentUri: (uri: string) => string;
  /** Keep only the segments that start within this many seconds, and end the playlist (0 or unset: all). */
  previewSeconds?: number;
}

const MAP_URI = /^(#EXT-X-MAP:.*URI=")([^"]*)(".*)$/;

export function servedPlaylist(text: string, serving: PlaylistServing): string {
  const out: string[] = [];
  const preview = serving.previewSeconds ?? 0;
  let elapsed = 0;
  let pending: number | undefined;
  let cut = false;
  for (const line of text.split(/\r?\n/)) {
    if (cut) break;
    const map = MAP_URI.exec(line);
    if (map) {
      out.push(`${map[1]}${serving.segmentUri(map[2]!)}${map[3]}`);
      continue;
    }
    if (line.startsWith('#EXTINF:')) pending = Number.parseFloat(line.slice('#EXTINF:'.length));
    if (line === '' || line.startsWith('#')) {
      out.push(line);
      continue;
    }
    out.push(serving.segmentUri(line));
    elapsed += pending ?? 0;
    pending = undefined;
    if (preview > 0 && elapsed >= preview) {
      // The rest is not served; a preview is a finished playlist of its own.
      cut = true;
      out.push('#EXT-X-ENDLIST');
    }
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
