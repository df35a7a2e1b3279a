import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from './events.js';
import { groupsOfStream, outputRoom, streamMatches } from './group-map.js';
import { checkImSign, ImWebhookError, parseImWebhook } from './im-webhook.js';
import { liveSpans, mediaSecondsAt, spansOfSegments } from './media-time.js';
import {
  placeEvents,
  playlistDateRanges,
  renderChaptersVtt,
  renderDanmakuVtt,
  summarize,
  wallAtSeconds,
} from './sidecars.js';

const T0 = Date.UTC(2026, 11, 2, 10, 0, 0);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('checkImSign', () => {
  const now = T0;
  const time = String(now / 1000);
  it.each([
    ['a right sign', { RequestTime: time, Sign: sha(`tok${time}`) }, undefined],
    ['an upper-case right sign', { RequestTime: time, Sign: sha(`tok${time}`).toUpperCase() }, undefined],
    ['a sign of another token', { RequestTime: time, Sign: sha(`other${time}`) }, 'does not match'],
    ['no sign', { RequestTime: time }, 'required'],
    [
      'a time 61 s old',
      { RequestTime: String(now / 1000 - 61), Sign: sha(`tok${now / 1000 - 61}`) },
      'more than 60 s',
    ],
    ['a time that is no number', { RequestTime: '12ab', Sign: sha('tok12ab') }, 'Unix seconds'],
    ['a short sign', { RequestTime: time, Sign: 'abcd' }, 'does not match'],
  ])('%s', (_name, query, error) => {
    const check = () => checkImSign('tok', query, now);
    if (error === undefined) expect(check).not.toThrow();
    else expect(check).toThrow(error);
  });
});

describe('parseImWebhook', () => {
  const options = { productField: 'product', nowMs: T0 };
  const message = {
    CallbackCommand: 'Group.CallbackAfterSendMsg',
    GroupId: '1001',
    Type: 'AVChatRoom',
    From_Account: 'bob',
    Operator_Account: '',
    Random: 2207,
    MsgSeq: 51,
    MsgTime: T0 / 1000,
    OnlineOnlyFlag: 0,
    CloudCustomData: '{"level":3}',
    EventTime: T0 + 345,
    MsgBody: [
      { MsgType: 'TIMTextElem', MsgContent: { Text: 'hello' } },
      { MsgType: 'TIMFaceElem', MsgContent: { Index: 1, Data: 'smile' } },
      { MsgType: 'TIMTextElem', MsgContent: { Text: 'world' } },
    ],
  };

  it('a group message: its texts joined, its id from MsgSeq and Random, its time from EventTime', () => {
    const parsed = parseImWebhook('Group.CallbackAfterSendMsg', message, options);
    expect(parsed).toMatchObject({
      groupId: '1001',
      events: [
        {
          kind: 'message',
          id: 'msg:51:2207',
          key: 'group:1001',
          atMs: T0 + 345,
          account: 'bob',
          text: 'hello world',
          cloudCustomData: '{"level":3}',
        },
      ],
    });
  });

  it('without EventTime, MsgTime (seconds) dates it', () => {
    const { EventTime: _e, ...old } = message;
    const parsed = parseImWebhook('Group.CallbackAfterSendMsg', old, options);
    expect('events' in parsed && parsed.events[0]!.atMs).toBe(T0);
  });

  it('a gift (custom elem) is a message without text', () => {
    const gift = {
      ...message,
      MsgBody: [
        { MsgType: 'TIMCustomElem', MsgContent: { Data: '{"gift":"rose","count":20}', Desc: '', Ext: '' } },
      ],
    };
    const parsed = parseImWebhook('Group.CallbackAfterSendMsg', gift, options);
    expect('events' in parsed && parsed.events[0]).toMatchObject({ text: '', body: gift.MsgBody });
  });

  it('a group change: one event per field, the product field a product push, the same change the same id', () => {
    const change = {
      CallbackCommand: 'Group.CallbackAfterGroupInfoChanged',
      GroupId: '1001',
      Type: 'AVChatRoom',
      Operator_Account: 'admin',
      Notification: 'sale at 8',
      EventTime: String(T0 + 10),
      AppDefinedData: [{ Key: 'product', Value: '{"sku":"A1","price":99}' }],
    };
    const a = parseImWebhook('Group.CallbackAfterGroupInfoChanged', change, options);
    const b = parseImWebhook('Group.CallbackAfterGroupInfoChanged', change, options);
    expect(
      'events' in a && a.events.map((e) => e.kind === 'group' && [e.field, e.value, e.product, e.atMs]),
    ).toEqual([
      ['Notification', 'sale at 8', false, T0 + 10],
      ['product', '{"sku":"A1","price":99}', true, T0 + 10],
    ]);
    expect('events' in a && 'events' in b && a.events.map((e) => e.id)).toEqual(
      'events' in b && b.events.map((e) => e.id),
    );
    const other = parseImWebhook(
      'Group.CallbackAfterGroupInfoChanged',
      { ...change, Notification: 'sale at 9' },
      options,
    );
    expect('events' in other && other.events[0]!.id).not.toBe('events' in a && a.events[0]!.id);
  });

  it.each([
    ['no GroupId', { ...message, GroupId: undefined }, 'GroupId'],
    ['a MsgSeq that is no number', { ...message, MsgSeq: 'x' }, 'MsgSeq'],
    ['MsgBody not a list', { ...message, MsgBody: {} }, 'MsgBody'],
    ['an elem without MsgContent', { ...message, MsgBody: [{ MsgType: 'TIMTextElem' }] }, 'MsgBody[0]'],
    ['a body that is a list', [], 'JSON object'],
  ])('refuses %s, naming it', (_name, body, error) => {
    expect(() => parseImWebhook('Group.CallbackAfterSendMsg', body, options)).toThrow(ImWebhookError);
    expect(() => parseImWebhook('Group.CallbackAfterSendMsg', body, options)).toThrow(error);
  });

  it('ignores other commands', () => {
    expect(parseImWebhook('State.StateChange', {}, options)).toEqual({
      command: 'State.StateChange',
      ignored: true,
    });
  });
});

describe('group map', () => {
  const rooms = {
    pattern: /^(?<app>\d+)_(?<room>\d+)_(?<user>.+)_(?<kind>main|aux)$/,
    output: '{sdkappid}_{room}_mix',
  };
  it.each([
    ['a TRTC stream belongs to its room', 'live', '1400000123_1001_alice_main', ['1001']],
    ['a room mix output belongs to its room', 'live', '1400000123_1001_mix', ['1001']],
    ['a stream of no room belongs to none', 'live', 'camera7', []],
    ['an explicit group, by stream', 'live', 'lecture_hall', ['@TGS#abc']],
    ['an explicit group, by app/stream with *', 'class', 'room-42', ['@TGS#class']],
  ])('%s', (_name, app, stream, groups) => {
    const map = { groups: { '@TGS#abc': ['lecture_*'], '@TGS#class': ['class/room-*'] }, rooms };
    expect(groupsOfStream(map, app, stream)).toEqual(groups);
  });
  it('without rooms, only the explicit groups', () => {
    expect(groupsOfStream({ groups: {} }, 'live', '1400000123_1001_alice_main')).toEqual([]);
  });
  it('patterns match whole names, and dots are dots', () => {
    expect(streamMatches('a.b', 'live', 'aXb')).toBe(false);
    expect(streamMatches('live/a*', 'other', 'abc')).toBe(false);
    expect(outputRoom('{sdkappid}_{room}_mix', '123_9_mixer')).toBeUndefined();
  });
});

describe('media time', () => {
  // A recording of two runs: 10 s from T0, then (after 5 s away) 6 s.
  const spans = [
    { startMs: T0, seconds: 10 },
    { startMs: T0 + 15_000, seconds: 6 },
  ];
  it.each([
    ['in the first run', T0 + 2500, 2.5],
    ['in the second run', T0 + 16_000, 11],
    ['while away: where the next run starts', T0 + 12_000, 10],
    ['before the first media', T0 - 1, undefined],
    ['after the last', T0 + 21_001, undefined],
  ])('%s', (_name, at, seconds) => {
    expect(mediaSecondsAt(spans, at)).toBe(seconds);
  });
  it('segments merge into spans, a discontinuity starts another', () => {
    const segments = [
      { startMs: T0, durationSeconds: 4 },
      { startMs: T0 + 4000, durationSeconds: 4 },
      { startMs: T0 + 8000, durationSeconds: 2 },
      { startMs: T0 + 15_000, durationSeconds: 4, discontinuity: true },
      { startMs: T0 + 19_000, durationSeconds: 2 },
    ];
    expect(spansOfSegments(segments)).toEqual(spans);
  });
  it('a live recording: the run being recorded joins the last span, or after a resume starts its own', () => {
    const closed = [{ startMs: T0, durationSeconds: 4 }];
    expect(liveSpans(closed, T0, T0 + 6000)).toEqual([{ startMs: T0, seconds: 6 }]);
    expect(liveSpans(closed, T0 + 10_000, T0 + 12_000)).toEqual([
      { startMs: T0, seconds: 4 },
      { startMs: T0 + 10_000, seconds: 2 },
    ]);
  });
  it('wall time of a media time is on the span it falls in', () => {
    expect(wallAtSeconds(spans, 11)).toBe(T0 + 16_000);
    expect(wallAtSeconds(spans, 2)).toBe(T0 + 2000);
  });
});

describe('sidecars', () => {
  const spans = [
    { startMs: T0, seconds: 10 },
    { startMs: T0 + 15_000, seconds: 6 },
  ];
  const events: TimelineEvent[] = [
    { kind: 'marker', id: 'mk_2', key: 'stream:live/s', atMs: T0 + 16_000, label: 'Q&A "part" 2' },
    { kind: 'marker', id: 'mk_1', key: 'stream:live/s', atMs: T0 + 1000, label: 'intro' },
    {
      kind: 'message',
      id: 'msg:1:1',
      key: 'group:1',
      atMs: T0 + 3000,
      groupId: '1',
      account: 'bob<3',
      msgSeq: 1,
      random: 1,
      body: [],
      text: 'a <b>bold</b>\n\nline',
    },
    {
      kind: 'group',
      id: 'grp:1',
      key: 'group:1',
      atMs: T0 + 5000,
      groupId: '1',
      account: 'admin',
      field: 'product',
      value: '{"sku":"A1"}',
      product: true,
    },
    { kind: 'marker', id: 'mk_out', key: 'stream:live/s', atMs: T0 + 60_000, label: 'after the end' },
  ];
  const placed = placeEvents(events, spans);

  it('places events by media time and leaves out those outside the recording', () => {
    expect(placed.map((e) => [e.id, e.seconds])).toEqual([
      ['mk_1', 1],
      ['msg:1:1', 3],
      ['grp:1', 5],
      ['mk_2', 11],
    ]);
  });
  it('the danmaku track: each text from its time for 4 s, markup and blank lines escaped', () => {
    expect(renderDanmakuVtt(placed)).toBe(
      'WEBVTT\n\nmsg:1:1\n00:00:03.000 --> 00:00:07.000\n<v bob&lt;3>a &lt;b&gt;bold&lt;/b&gt;  line</v>\n',
    );
  });
  it('the chapters track: each marker to the next, the last to the end', () => {
    expect(renderChaptersVtt(placed, 16)).toBe(
      'WEBVTT\n\nmk_1\n00:00:01.000 --> 00:00:11.000\nintro\n\nmk_2\n00:00:11.000 --> 00:00:16.000\nQ&amp;A "part" 2\n',
    );
  });
  it('date ranges for markers and product pushes, on the program date-time clock, quoted-string safe', () => {
    expect(playlistDateRanges(placed, spans)).toEqual([
      {
        id: 'mk_1',
        classId: 'com.tencent.recorder.marker',
        start: new Date(T0 + 1000),
        attributes: { 'X-LABEL': 'intro' },
      },
      {
        id: 'grp:1',
        classId: 'com.tencent.recorder.product',
        start: new Date(T0 + 5000),
        attributes: { 'X-PRODUCT': "{'sku':'A1'}" },
      },
      {
        id: 'mk_2',
        classId: 'com.tencent.recorder.marker',
        start: new Date(T0 + 16_000),
        attributes: { 'X-LABEL': "Q&A 'part' 2" },
      },
    ]);
    expect(summarize(placed)).toEqual({
      markers: [
        { id: 'mk_1', label: 'intro', seconds: 1 },
        { id: 'mk_2', label: 'Q&A "part" 2', seconds: 11 },
      ],
      messages: 1,
      products: 1,
    });
  });
});
