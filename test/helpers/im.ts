import { createHash } from 'node:crypto';

/** What a test sends Tencent IM's webhook endpoint as. */
export interface ImSender {
  /** The recorder's base URL, e.g. http://127.0.0.1:8080. */
  base: string;
  sdkAppId: number;
  /** im.callbackToken; unset: unsigned webhooks. */
  token?: string;
}

/** POSTs one webhook the way Tencent IM does: the command and app in the query, signed when a token is set. */
export async function sendImWebhook(
  to: ImSender,
  body: Record<string, unknown>,
  options: { requestTime?: number; sign?: string } = {},
): Promise<{ status: number; answer: Record<string, unknown>; ms: number }> {
  const time = String(options.requestTime ?? Math.floor(Date.now() / 1000));
  const query = new URLSearchParams({
    SdkAppid: String(to.sdkAppId),
    CallbackCommand: String(body.CallbackCommand),
    contenttype: 'json',
    ClientIP: '203.0.113.7',
    OptPlatform: 'RESTAPI',
    ...(to.token
      ? {
          RequestTime: time,
          Sign:
            options.sign ??
            createHash('sha256')
              .update(to.token + time)
              .digest('hex'),
        }
      : {}),
  });
  const started = performance.now();
  const response = await fetch(`${to.base}/im/callback?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  return { status: response.status, answer, ms: performance.now() - started };
}

/** A `Group.CallbackAfterSendMsg` of an AVChatRoom, in the shape IM documents. */
export function groupMessage(o: {
  groupId: string;
  account: string;
  seq: number;
  random?: number;
  atMs: number;
  text?: string;
  custom?: { Data: string; Desc?: string; Ext?: string };
}): Record<string, unknown> {
  return {
    CallbackCommand: 'Group.CallbackAfterSendMsg',
    GroupId: o.groupId,
    Type: 'AVChatRoom',
    From_Account: o.account,
    Operator_Account: '',
    Random: o.random ?? 1000 + o.seq,
    MsgSeq: o.seq,
    MsgTime: Math.floor(o.atMs / 1000),
    OnlineOnlyFlag: 0,
    CloudCustomData: '',
    EventTime: o.atMs,
    MsgBody: [
      ...(o.text !== undefined ? [{ MsgType: 'TIMTextElem', MsgContent: { Text: o.text } }] : []),
      ...(o.custom ? [{ MsgType: 'TIMCustomElem', MsgContent: { Desc: '', Ext: '', ...o.custom } }] : []),
    ],
  };
}

/** A `Group.CallbackAfterGroupInfoChanged` setting one app-defined field (a product push with `product`). */
export function groupFieldChange(o: {
  groupId: string;
  account: string;
  atMs: number;
  key: string;
  value: string;
}): Record<string, unknown> {
  return {
    CallbackCommand: 'Group.CallbackAfterGroupInfoChanged',
    GroupId: o.groupId,
    Type: 'AVChatRoom',
    Operator_Account: o.account,
    EventTime: o.atMs,
    AppDefinedData: [{ Key: o.key, Value: o.value }],
  };
}

/** A recording's `<key>.events.json`, as far as the tests read it. */
export interface EventsSidecar {
  media: string;
  spans: { start: string; seconds: number }[];
  events: {
    kind: string;
    id: string;
    seconds: number;
    at: string;
    label?: string;
    text?: string;
    account?: string;
    value?: string;
    product?: boolean;
  }[];
}
