/**
 * What a recording's timeline holds: markers set through the API, and a live room's messages and group changes
 * from Tencent IM's webhooks. Every event carries the wall-clock time it happened; its media time is worked out
 * per recording, from that recording's spans (media-time.ts).
 */
export type TimelineEvent = MarkerEvent | MessageEvent | GroupChangeEvent;

interface EventBase {
  /** Unique within its key: the store keeps one event per id (IM retries a webhook). */
  id: string;
  /** Which timeline it is on: `stream:<app>/<stream>` (markers) or `group:<GroupId>` (IM events). */
  key: string;
  /** Wall-clock Unix ms. */
  atMs: number;
}

export interface MarkerEvent extends EventBase {
  kind: 'marker';
  label: string;
}

/** One IM message elem, as IM sent it (`TIMTextElem`, `TIMCustomElem`, `TIMFaceElem`, ...). */
export interface MessageElem {
  MsgType: string;
  MsgContent: Record<string, unknown>;
}

/** A group message (`Group.CallbackAfterSendMsg`): danmaku, gifts, likes, faces. */
export interface MessageEvent extends EventBase {
  kind: 'message';
  groupId: string;
  account: string;
  msgSeq: number;
  random: number;
  body: MessageElem[];
  /** The text of its text elems, joined: what the danmaku track shows; empty for a message without text. */
  text: string;
  cloudCustomData?: string;
}

/** A change of the group's profile or app-defined fields (`Group.CallbackAfterGroupInfoChanged`). */
export interface GroupChangeEvent extends EventBase {
  kind: 'group';
  groupId: string;
  account: string;
  /** The field changed: `Name`, `Notification`, `Introduction`, `FaceUrl`, or an app-defined key. */
  field: string;
  /** Its new value, as written. */
  value: string;
  /** The field is `im.productField`: a product push (the "now selling" slot). */
  product: boolean;
}

export function timelineKeyOfStream(app: string, stream: string): string {
  return `stream:${app}/${stream}`;
}

export function timelineKeyOfGroup(groupId: string): string {
  return `group:${groupId}`;
}
