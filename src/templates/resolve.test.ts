import { describe, expect, it } from 'vitest';
import { parseTencentParams, TencentApiError } from '../api/tencent-api.js';
import { parseConfig } from '../config/load.js';
import type { RecordConfig } from '../config/schema.js';
import {
  createRuleInput,
  createTemplateInput,
  mergeRecordParam,
  modifyTemplateInput,
  type RecordParam,
  type RecordRule,
  type RecordTemplate,
} from './model.js';
import {
  fileSecondsFor,
  recordConfigFromTemplate,
  requireRetention,
  resolveRecording,
  retentionDaysFor,
  storageDaysOf,
} from './resolve.js';

const base: RecordConfig = parseConfig({ record: { formats: ['hls'], timeZone: 'UTC' } }).record;

const off: RecordParam = { RecordInterval: 1800, StorageTime: 0, Enable: 0 };
function template(id: number, params: Partial<RecordTemplate> = {}): RecordTemplate {
  return {
    TemplateId: id,
    TemplateName: `t${id}`,
    Description: '',
    FlvParam: off,
    HlsParam: off,
    Mp4Param: { RecordInterval: 600, StorageTime: 0, Enable: 1 },
    AacParam: off,
    HlsSpecialParam: { FlowContinueDuration: 0 },
    IsDelayLive: 0,
    ...params,
  };
}

function rule(
  TemplateId: number,
  DomainName: string,
  AppName: string,
  StreamName: string,
  createdMs = 0,
): RecordRule {
  return { TemplateId, DomainName, AppName, StreamName, createdMs, updatedMs: createdMs };
}

const templates = [1, 2, 3, 4, 5, 6, 7, 8].map((id) => template(id));
const at = { domains: ['push.example.com'], app: 'live', stream: 's1' };

describe('the most specific matching rule decides', () => {
  it.each([
    [
      'an exact domain+app+stream rule beats domain+stream',
      [rule(1, 'push.example.com', 'live', 's1'), rule(2, 'push.example.com', '', 's1')],
      1,
    ],
    [
      'domain+stream beats domain+app (tie on count: StreamName wins)',
      [rule(2, 'push.example.com', 'live', ''), rule(3, 'push.example.com', '', 's1')],
      3,
    ],
    [
      'domain+app beats domain alone',
      [rule(4, 'push.example.com', '', ''), rule(5, 'push.example.com', 'live', '')],
      5,
    ],
    [
      'a domain rule beats the all-empty wildcard',
      [rule(6, '', '', ''), rule(4, 'push.example.com', '', '')],
      4,
    ],
    [
      'stream alone beats app alone (tie: StreamName wins)',
      [rule(7, '', 'live', ''), rule(8, '', '', 's1')],
      8,
    ],
    [
      'app alone beats domain alone (tie: AppName wins)',
      [rule(4, 'push.example.com', '', ''), rule(7, '', 'live', '')],
      7,
    ],
    [
      'more fields beat StreamName alone',
      [rule(8, '', '', 's1'), rule(5, 'push.example.com', 'live', '')],
      5,
    ],
    ['the domain matches case-insensitively', [rule(1, 'PUSH.Example.COM', 'live', 's1')], 1],
    [
      'an equal shape on two domains: the older rule wins',
      [rule(2, 'other.example', 'live', 's1', 20), rule(1, 'push.example.com', 'live', 's1', 10)],
      1,
    ],
  ])('%s', (_name, rules, expected) => {
    const decision = resolveRecording(rules, templates, base, true, {
      ...at,
      domains: [...at.domains, 'other.example'],
    });
    expect(decision.record && decision.config.templateId).toBe(expected);
  });

  it.each([
    ['another stream', rule(1, 'push.example.com', 'live', 's2')],
    ['another app', rule(1, 'push.example.com', 'other', 's1')],
    ['another domain', rule(1, 'elsewhere.example.com', 'live', 's1')],
  ])('a rule for %s does not match: the config template applies', (_name, r) => {
    const decision = resolveRecording([r], templates, base, true, at);
    expect(decision).toEqual({ record: true, config: base, rule: undefined });
  });

  it('no rule with auto true: the config template (no templateId)', () => {
    const decision = resolveRecording([], templates, base, true, at);
    expect(decision.record && decision.config).toBe(base);
  });

  it('no rule with auto false: not recorded, with the reason', () => {
    const decision = resolveRecording([rule(1, '', '', 'other')], templates, base, false, at);
    expect(decision).toMatchObject({ record: false, reason: expect.stringMatching(/record\.auto/) });
  });

  it('a matching rule records even with auto false', () => {
    const decision = resolveRecording(
      [rule(2, 'push.example.com', 'live', 's1')],
      templates,
      base,
      false,
      at,
    );
    expect(decision.record && decision.config.templateId).toBe(2);
  });

  it('a rule whose template enables no format records nothing', () => {
    const none = template(9, { Mp4Param: off });
    const decision = resolveRecording([rule(9, '', '', 's1')], [none], base, true, at);
    expect(decision).toMatchObject({ record: false, reason: 'template 9 enables no format' });
  });

  it('a rule whose template is gone falls through to the next rule', () => {
    const decision = resolveRecording(
      [rule(99, '', 'live', 's1'), rule(3, '', 'live', '')],
      templates,
      base,
      true,
      at,
    );
    expect(decision.record && decision.config.templateId).toBe(3);
  });

  it('a configured domain matches as well as the host the publisher used', () => {
    const r = rule(2, '5000.livepush.myqcloud.com', 'live', '');
    const viaHost = resolveRecording([r], templates, base, false, { ...at, domains: ['127.0.0.1'] });
    const viaConfig = resolveRecording([r], templates, base, false, {
      ...at,
      domains: ['127.0.0.1', '5000.livepush.myqcloud.com'],
    });
    expect(viaHost.record).toBe(false);
    expect(viaConfig.record && viaConfig.config.templateId).toBe(2);
  });
});

describe('recordConfigFromTemplate', () => {
  const t = template(5, {
    HlsParam: { RecordInterval: 1800, StorageTime: 86_400, Enable: 1 },
    FlvParam: { RecordInterval: 300, StorageTime: 86_401, Enable: 1 },
    Mp4Param: { RecordInterval: 7200, StorageTime: 0, Enable: 1 },
    AacParam: { RecordInterval: 900, StorageTime: 3600, Enable: 0 },
    HlsSpecialParam: { FlowContinueDuration: 30 },
  });
  const config = recordConfigFromTemplate(t, base);

  it('records the enabled formats, in the recorder order', () => {
    expect(config.formats).toEqual(['hls', 'flv', 'mp4']);
  });
  it('takes the resume window from FlowContinueDuration and carries the TemplateId', () => {
    expect(config.hlsResumeTimeoutSeconds).toBe(30);
    expect(config.templateId).toBe(5);
  });
  it.each([
    ['flv', 300],
    ['mp4', 7200],
    ['aac', base.maxFileDurationSeconds],
  ] as const)('%s splits every %i s', (format, seconds) => {
    expect(fileSecondsFor(config, format)).toBe(seconds);
  });
  it.each([
    ['hls', 1],
    ['flv', 2],
    ['mp4', 0],
  ] as const)('%s keeps files %i days (StorageTime rounded up, 0 = forever)', (format, days) => {
    expect(retentionDaysFor(config, format)).toBe(days);
  });
  it('keeps the config keys it does not map', () => {
    expect(config.fileNameTemplate).toBe(base.fileNameTemplate);
    expect(config.hlsSegmentSeconds).toBe(base.hlsSegmentSeconds);
  });
  it('the config template uses maxFileDurationSeconds and storageDays for every format', () => {
    const plain = parseConfig({ record: { maxFileDurationSeconds: 60, storageDays: 7 } }).record;
    expect(['hls', 'flv', 'mp4', 'aac'].map((f) => fileSecondsFor(plain, f as 'mp4'))).toEqual([
      60, 60, 60, 60,
    ]);
    expect(retentionDaysFor(plain, 'aac')).toBe(7);
  });
  it.each([
    [0, 0],
    [1, 1],
    [86_400, 1],
    [86_401, 2],
    [93_312_000, 1080],
  ])('StorageTime %i s is %i days', (seconds, days) => {
    expect(storageDaysOf(seconds)).toBe(days);
  });
  it('object lock refuses an enabled format kept forever', () => {
    expect(requireRetention(t)).toMatch(/Mp4Param\.StorageTime/);
    expect(requireRetention({ ...t, Mp4Param: { ...t.Mp4Param, StorageTime: 60 } })).toBeUndefined();
  });
});

describe('record.auto', () => {
  it('defaults to true and takes a boolean only', () => {
    expect(parseConfig({}).record.auto).toBe(true);
    expect(parseConfig({ record: { auto: false } }).record.auto).toBe(false);
    expect(() => parseConfig({ record: { auto: 'no' } })).toThrow(
      /record\.auto = "no": must be true or false/,
    );
  });
});

describe('parameter validation answers Tencent codes', () => {
  function codeOf(run: () => unknown): string | undefined {
    try {
      run();
      return undefined;
    } catch (err) {
      return err instanceof TencentApiError ? err.code : String(err);
    }
  }
  it.each([
    [
      'RecordInterval below 300',
      { TemplateName: 'a', Mp4Param: { RecordInterval: 299 } },
      'InvalidParameterValue',
    ],
    [
      'RecordInterval above 7200',
      { TemplateName: 'a', FlvParam: { RecordInterval: 7201 } },
      'InvalidParameterValue',
    ],
    [
      'a fractional RecordInterval (not an Integer)',
      { TemplateName: 'a', FlvParam: { RecordInterval: 600.5 } },
      'InvalidParameter',
    ],
    [
      'StorageTime above 93312000',
      { TemplateName: 'a', HlsParam: { StorageTime: 93_312_001 } },
      'InvalidParameterValue',
    ],
    ['a negative StorageTime', { TemplateName: 'a', HlsParam: { StorageTime: -1 } }, 'InvalidParameterValue'],
    ['Enable 2', { TemplateName: 'a', AacParam: { Enable: 2 } }, 'InvalidParameterValue'],
    [
      'FlowContinueDuration above 1800',
      { TemplateName: 'a', HlsSpecialParam: { FlowContinueDuration: 1801 } },
      'InvalidParameterValue',
    ],
    ['a TemplateName with a space', { TemplateName: 'a b' }, 'InvalidParameterValue'],
    ['no TemplateName', {}, 'MissingParameter'],
    [
      'a string RecordInterval',
      { TemplateName: 'a', Mp4Param: { RecordInterval: '600' } },
      'InvalidParameter',
    ],
    ['an unknown field', { TemplateName: 'a', Mp4Param: { Interval: 600 } }, 'UnknownParameter'],
  ])('%s', (_name, params, code) => {
    expect(codeOf(() => parseTencentParams(createTemplateInput, params))).toBe(code);
  });
  it.each([
    [
      'the lowest values',
      { TemplateName: 'a_b-1', Mp4Param: { RecordInterval: 300, StorageTime: 0, Enable: 1 } },
    ],
    [
      'the highest values',
      {
        TemplateName: '模板',
        HlsParam: { RecordInterval: 7200, StorageTime: 93_312_000 },
        HlsSpecialParam: { FlowContinueDuration: 1800 },
      },
    ],
    [
      'the fields stored but not applied',
      {
        TemplateName: 'a',
        Mp4Param: { VodSubAppId: 1, VodFileName: 'x', Procedure: 'p', StorageMode: 'cold', ClassId: 3 },
        Mp3Param: { Enable: 1 },
        RemoveWatermark: true,
        FlvSpecialParam: { UploadInRecording: true },
        IsDelayLive: 1,
        CosStore: 1,
      },
    ],
  ])('accepts %s', (_name, params) => {
    expect(codeOf(() => parseTencentParams(createTemplateInput, params))).toBeUndefined();
  });
  it('ModifyLiveRecordTemplate needs a TemplateId; CreateLiveRecordRule a DomainName and TemplateId', () => {
    expect(codeOf(() => parseTencentParams(modifyTemplateInput, { Description: 'x' }))).toBe(
      'MissingParameter',
    );
    expect(codeOf(() => parseTencentParams(createRuleInput, { TemplateId: 1 }))).toBe('MissingParameter');
    expect(parseTencentParams(createRuleInput, { TemplateId: 1, DomainName: '' })).toEqual({
      TemplateId: 1,
      DomainName: '',
      AppName: '',
      StreamName: '',
    });
  });
  it('a partial parameter set keeps the other fields', () => {
    expect(mergeRecordParam(undefined, { Enable: 1 })).toEqual({
      RecordInterval: 1800,
      StorageTime: 0,
      Enable: 1,
    });
    expect(mergeRecordParam({ RecordInterval: 600, StorageTime: 60, Enable: 1 }, { StorageTime: 0 })).toEqual(
      {
        RecordInterval: 600,
        StorageTime: 0,
        Enable: 1,
      },
    );
  });
});
