import { createHash, timingSafeEqual } from 'node:crypto';
import { timelineKeyOfGroup, type GroupChangeEvent, type MessageElem, type MessageEvent } from './events.js';

/** The answer Tencent IM expects from every webhook it sends. */
export const IM_OK = Object.freeze({ ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0 });

/** IM rejects a webhook whose RequestTime is more than a minute off (its webhook authentication). */
export const IM_SIGN_MAX_SKEW_SECONDS = 60;

export const IM_SEND_MSG = 'Group.CallbackAfterSendMsg';
export const IM_GROUP_INFO = 'Group.CallbackAfterGroupInfoChanged';

/** Why a webhook was refused: the sign, or a body that is not what IM sends. */
export class ImWebhookError extends Error {
  constructor(
    readonly reason: 'sign' | 'sdkappid' | 'body',
    message: string,
  ) {
    super(message);
  }
}

/**
 * IM's webhook authentication (pure): `Sign` = hex SHA-256 of the token followed by `RequestTime` (Unix
 * seconds), and RequestTime within a minute of now. Throws an ImWebhookError saying which part failed.
 */
export function checkImSign(
  token: string,
  query: { RequestTime?: string | undefined; Sign?: string | undefined },
  nowMs: number,
): void {
  const { RequestTime: time, Sign: sign } = query;
  if (!time || !sign) throw new ImWebhookError('sign', 'RequestTime and Sign are required');
  if (!/^\d{1,12}$/.test(time)) throw new ImWebhookError('sign', 'RequestTime must be Unix seconds');
  if (Math.abs(nowMs / 1000 - Number(time)) > IM_SIGN_MAX_SKEW_SECONDS) {
    throw new ImWebhookError('sign', `RequestTime is more than ${IM_SIGN_MAX_SKEW_SECONDS} s from now`);
  }
  const expected = createHash('sha256')
    .update(token + time)
    .digest();
  const given = Buffer.from(sign.toLowerCase(), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ImWebhookError('sign', 'Sign does not match the token');
  }
}

/** What one webhook carries for the timeline; `ignored` for commands the timeline does not keep. */
export type ParsedWebhook =
  | { command: string; groupId: string; events: (MessageEvent | GroupChangeEvent)[] }
  | { command: string; ignored: true };

/** The group profile fields Group.CallbackAfterGroupInfoChanged carries when changed. */
const PROFILE_FIELDS = ['Name', 'Introduction', 'Notification', 'FaceUrl'] as const;

/**
 * The timeline events of one IM webhook body (pure): a group message, or the group fields it changed (the
 * field `productField` names is a product push). `nowMs` dates an event whose body carries no time.
 */
export function parseImWebhook(
  command: string,
  body: unknown,
  options: { productField: string; nowMs: number },
): ParsedWebhook {
  if (command !== IM_SEND_MSG && command !== IM_GROUP_INFO) return { command, ignored: true };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ImWebhookError('body', 'the body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const groupId = requiredString(b, 'GroupId');
  const key = timelineKeyOfGroup(groupId);
  if (command === IM_SEND_MSG) {
    const msgSeq = requiredInteger(b, 'MsgSeq');
    const random = requiredInteger(b, 'Random');
    const elems = b.MsgBody;
    if (!Array.isArray(elems)) throw new ImWebhookError('body', 'MsgBody must be a list');
    const msgBody = elems.map((elem, i) => messageElem(elem, i));
    const account = optionalString(b, 'From_Account') ?? '';
    const atMs = eventTimeMs(b) ?? secondsMs(b.MsgTime) ?? options.nowMs;
    const event: MessageEvent = {
      kind: 'message',
      id: `msg:${msgSeq}:${random}`,
      key,
      atMs,
      groupId,
      account,
      msgSeq,
      random,
      body: msgBody,
      text: msgBody
        .filter((e) => e.MsgType === 'TIMTextElem' && typeof e.MsgContent.Text === 'string')
        .map((e) => e.MsgContent.Text as string)
        .join(' '),
      ...(typeof b.CloudCustomData === 'string' && b.CloudCustomData
        ? { cloudCustomData: b.CloudCustomData }
        : {}),
    };
    return { command, groupId, events: [event] };
  }
  const atMs = eventTimeMs(b) ?? options.nowMs;
  const account = optionalString(b, 'Operator_Account') ?? '';
  const changes: { field: string; value: string }[] = [];
  for (const field of PROFILE_FIELDS) {
    const value = b[field];
    if (typeof value === 'string') changes.push({ field, value });
  }
  // App-defined group fields, as modify_group_base_info writes them.
  if (b.AppDefinedData !== undefined) {
    if (!Array.isArray(b.AppDefinedData)) throw new ImWebhookError('body', 'AppDefinedData must be a list');
    for (const [i, item] of (b.AppDefinedData as unknown[]).entries()) {
      const entry = item as Record<string, unknown> | null;
      if (typeof entry?.Key !== 'string' || typeof entry.Value !== 'string') {
        throw new ImWebhookError('body', `AppDefinedData[${i}] must have a string Key and Value`);
      }
      changes.push({ field: entry.Key, value: entry.Value });
    }
  }
  const events = changes.map(({ field, value }): GroupChangeEvent => ({
    kind: 'group',
    // The same change sent again is one event; the same field set to the same value later is another.
    id: `grp:${atMs}:${createHash('sha1').update(`${field}\n${value}`).digest('hex')}`,
    key,
    atMs,
    groupId,
    account,
    field,
    value,
    product: field === options.productField,
  }));
  return { command, groupId, events };
}

function messageElem(elem: unknown, i: number): MessageElem {
  const e = elem as Record<string, unknown> | null;
  if (typeof e?.MsgType !== 'string' || typeof e.MsgContent !== 'object' || e.MsgContent === null) {
    throw new ImWebhookError('body', `MsgBody[${i}] must have a MsgType and a MsgContent object`);
  }
  return { MsgType: e.MsgType, MsgContent: e.MsgContent as Record<string, unknown> };
}

function requiredString(b: Record<string, unknown>, name: string): string {
  const value = b[name];
  if (typeof value !== 'string' || !value) throw new ImWebhookError('body', `${name} must be a string`);
  return value;
}

function optionalString(b: Record<string, unknown>, name: string): string | undefined {
  return typeof b[name] === 'string' ? b[name] : undefined;
}

function requiredInteger(b: Record<string, unknown>, name: string): number {
  const value = typeof b[name] === 'string' && /^\d+$/.test(b[name]) ? Number(b[name]) : b[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ImWebhookError('body', `${name} must be a non-negative integer`);
  }
  return value;
}

/** EventTime: Unix ms, a number or (in IM's own examples) a string of digits. */
function eventTimeMs(b: Record<string, unknown>): number | undefined {
  const raw = b.EventTime;
  const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

function secondsMs(raw: unknown): number | undefined {
  return typeof raw === 'number' && Number.isFinite(raw) && raw > 0 ? raw * 1000 : undefined;
}
