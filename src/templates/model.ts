import { z } from 'zod';
import type { RecordFormat } from '../config/schema.js';

/** Tencent's ranges and limits for recording templates (Live API 2018-08-01, CreateLiveRecordTemplate). */
export const TEMPLATE_LIMITS = Object.freeze({
  /** RecordInterval: max seconds per file; no effect on HLS. */
  recordInterval: { min: 300, max: 7200, default: 1800 },
  /** StorageTime: seconds to keep a file; 0 keeps it forever. 93,312,000 s = 1080 days. */
  storageTime: { min: 0, max: 93_312_000 },
  /** HlsSpecialParam.FlowContinueDuration: the HLS resume window in seconds; 0 = off. */
  flowContinueDuration: { min: 0, max: 1800 },
  /** "You can create up to 50 templates." */
  templates: 50,
  /** Not a documented Tencent limit: keeps the state file small. */
  rules: 1000,
  nameLength: 255,
  descriptionLength: 1024,
});

/** The template parameter set of each format the recorder writes. */
export const FORMAT_PARAMS = Object.freeze({
  hls: 'HlsParam',
  flv: 'FlvParam',
  mp4: 'Mp4Param',
  aac: 'AacParam',
} as const satisfies Record<RecordFormat, string>);
export type FormatParamName = (typeof FORMAT_PARAMS)[RecordFormat];

/** Tencent's RecordParam: one format's settings in a template. */
export interface RecordParam {
  RecordInterval: number;
  StorageTime: number;
  Enable: number;
  // Stored and answered, not applied: they configure Tencent VOD, which the recorder's own store replaces.
  VodSubAppId?: number;
  VodFileName?: string;
  Procedure?: string;
  StorageMode?: string;
  ClassId?: number;
}

/** Tencent's RecordTemplateInfo, as stored and as DescribeLiveRecordTemplate(s) answer it. */
export interface RecordTemplate {
  TemplateId: number;
  TemplateName: string;
  Description: string;
  FlvParam: RecordParam;
  HlsParam: RecordParam;
  Mp4Param: RecordParam;
  AacParam: RecordParam;
  HlsSpecialParam: { FlowContinueDuration: number };
  // Stored and answered, not applied (slow live, MP3, watermark removal, COS, FLV upload while recording).
  IsDelayLive: number;
  Mp3Param?: RecordParam;
  RemoveWatermark?: boolean;
  FlvSpecialParam?: { UploadInRecording?: boolean };
  CosStore?: number;
}

/** A recording rule: binds a template to a push domain, app and stream; an empty field matches any. */
export interface RecordRule {
  DomainName: string;
  AppName: string;
  StreamName: string;
  TemplateId: number;
  /** Unix ms. */
  createdMs: number;
  updatedMs: number;
}

function intIn(min: number, max: number) {
  const range = `must be an integer in ${min}..${max}`;
  return z
    .number({ error: 'must be an integer' })
    .int({ error: range })
    .min(min, { error: range })
    .max(max, { error: range });
}

const { recordInterval, storageTime, flowContinueDuration } = TEMPLATE_LIMITS;

/** A RecordParam as a request gives it: every field optional (defaults apply on create, stored values on modify). */
export const recordParamInput = z.strictObject({
  RecordInterval: intIn(recordInterval.min, recordInterval.max).optional(),
  StorageTime: intIn(storageTime.min, storageTime.max).optional(),
  Enable: intIn(0, 1).optional(),
  VodSubAppId: intIn(0, 2 ** 53 - 1).optional(),
  VodFileName: z.string().max(TEMPLATE_LIMITS.nameLength).optional(),
  Procedure: z.string().max(TEMPLATE_LIMITS.nameLength).optional(),
  StorageMode: z.enum(['normal', 'cold'], { error: 'must be normal or cold' }).optional(),
  ClassId: intIn(0, 2 ** 53 - 1).optional(),
});
export type RecordParamInput = z.infer<typeof recordParamInput>;

// Tencent: letters, digits, "_" and "-" (the Chinese console also takes Chinese characters).
const templateName = z
  .string({ error: 'must be a string' })
  .regex(/^[\p{Script=Han}A-Za-z0-9_-]+$/u, { error: 'may hold only letters, digits, Chinese, "_" and "-"' })
  .max(TEMPLATE_LIMITS.nameLength, { error: `must be at most ${TEMPLATE_LIMITS.nameLength} characters` });

const templateFields = {
  Description: z
    .string({ error: 'must be a string' })
    .max(TEMPLATE_LIMITS.descriptionLength, {
      error: `must be at most ${TEMPLATE_LIMITS.descriptionLength} characters`,
    })
    .optional(),
  FlvParam: recordParamInput.optional(),
  HlsParam: recordParamInput.optional(),
  Mp4Param: recordParamInput.optional(),
  AacParam: recordParamInput.optional(),
  HlsSpecialParam: z
    .strictObject({
      FlowContinueDuration: intIn(flowContinueDuration.min, flowContinueDuration.max).optional(),
    })
    .optional(),
  IsDelayLive: intIn(0, 1).optional(),
  Mp3Param: recordParamInput.optional(),
  RemoveWatermark: z.boolean({ error: 'must be true or false' }).optional(),
  FlvSpecialParam: z
    .strictObject({ UploadInRecording: z.boolean({ error: 'must be true or false' }).optional() })
    .optional(),
  CosStore: intIn(0, 1).optional(),
};

/** CreateLiveRecordTemplate parameters. */
export const createTemplateInput = z.strictObject({ TemplateName: templateName, ...templateFields });
export type CreateTemplateInput = z.infer<typeof createTemplateInput>;

const templateId = intIn(1, 2 ** 31 - 1);

/** ModifyLiveRecordTemplate parameters: a given parameter set changes only the fields it gives. */
export const modifyTemplateInput = z.strictObject({
  TemplateId: templateId,
  TemplateName: templateName.optional(),
  ...templateFields,
});
export type ModifyTemplateInput = z.infer<typeof modifyTemplateInput>;

/** DescribeLiveRecordTemplate and DeleteLiveRecordTemplate parameters. */
export const templateIdInput = z.strictObject({ TemplateId: templateId });

/** DescribeLiveRecordTemplates parameters: IsDelayLive filters when given. */
export const listTemplatesInput = z.strictObject({ IsDelayLive: intIn(0, 1).optional() });

const ruleField = z
  .string({ error: 'must be a string' })
  .max(TEMPLATE_LIMITS.nameLength, { error: `must be at most ${TEMPLATE_LIMITS.nameLength} characters` });

/** CreateLiveRecordRule parameters. DomainName is required, as at Tencent, but "" is taken as "any domain". */
export const createRuleInput = z.strictObject({
  DomainName: ruleField,
  TemplateId: templateId,
  AppName: ruleField.default(''),
  StreamName: ruleField.default(''),
});

/** DeleteLiveRecordRule parameters: the three fields match a rule exactly ("" matches only an empty field). */
export const deleteRuleInput = z.strictObject({
  DomainName: ruleField,
  AppName: ruleField.default(''),
  StreamName: ruleField.default(''),
});

/** DescribeLiveRecordRules takes no parameters. */
export const listRulesInput = z.strictObject({});

/** A full RecordParam from a request's partial one: the stored values (or Tencent's defaults), then the given ones. */
export function mergeRecordParam(
  stored: RecordParam | undefined,
  given: RecordParamInput | undefined,
): RecordParam {
  const base: RecordParam = stored ?? {
    RecordInterval: TEMPLATE_LIMITS.recordInterval.default,
    StorageTime: 0,
    Enable: 0,
  };
  const merged: RecordParam = { ...base };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  return merged;
}
