/**
 * Which IM groups a recorded stream belongs to (pure). A GroupId names its streams in `im.groups`
 * (`app/stream` or `stream`, `*` matching any run of characters); and, with `rooms`, a TRTC room's group
 * (GroupId = roomId) holds the room's streams (`SDKAppID_roomId_userId_main`, by the room pattern) and the
 * room's mix output (by the mix's output template).
 */
export interface GroupMap {
  groups: Readonly<Record<string, readonly string[]>>;
  rooms?: { pattern: RegExp; output: string } | undefined;
}

export function groupsOfStream(map: GroupMap, app: string, stream: string): string[] {
  const found = new Set<string>();
  for (const [groupId, patterns] of Object.entries(map.groups)) {
    if (patterns.some((p) => streamMatches(p, app, stream))) found.add(groupId);
  }
  if (map.rooms) {
    const room = map.rooms.pattern.exec(stream)?.groups?.room ?? outputRoom(map.rooms.output, stream);
    if (room) found.add(room);
  }
  return [...found];
}

/** Whether `pattern` (`app/stream` or `stream`, with `*` wildcards) names the stream. */
export function streamMatches(pattern: string, app: string, stream: string): boolean {
  const subject = pattern.includes('/') ? `${app}/${stream}` : stream;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(subject);
}

/** The room of a mix output stream named by the output template (`{sdkappid}_{room}_mix`), if it is one. */
export function outputRoom(template: string, stream: string): string | undefined {
  const source = template
    .split(/(\{sdkappid\}|\{room\})/)
    .map((part) =>
      part === '{sdkappid}'
        ? '\\d+'
        : part === '{room}'
          ? '(?<room>.+?)'
          : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`).exec(stream)?.groups?.room;
}
