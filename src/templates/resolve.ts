import { RECORD_FORMATS, type RecordConfig, type RecordFormat } from '../config/schema.js';
import { FORMAT_PARAMS, type RecordRule, type RecordTemplate } from './model.js';

const DAY_SECONDS = 86_400;

/** Where a publish goes, as rules see it. */
export interface StreamAddress {
  /** Push domains the stream is known by (the host the publisher used, a configured domain); case-insensitive. */
  domains: readonly string[];
  app: string;
  stream: string;
}

/** What to do with a new recording: record it with this config, or accept the publish and record nothing. */
export type RecordingDecision =
  | { record: true; config: RecordConfig; rule: RecordRule | undefined }
  | { record: false; reason: string; rule: RecordRule | undefined };

/** True when every non-empty field of the rule equals the stream's (the domain case-insensitively). */
export function ruleMatches(rule: RecordRule, at: StreamAddress): boolean {
  const domain = rule.DomainName.toLowerCase();
  return (
    (rule.DomainName === '' || at.domains.some((d) => d.toLowerCase() === domain)) &&
    (rule.AppName === '' || rule.AppName === at.app) &&
    (rule.StreamName === '' || rule.StreamName === at.stream)
  );
}

/**
 * How specific a rule is, compared left to right: more non-empty fields first; on a tie StreamName, then AppName,
 * then DomainName. So domain+app+stream > domain+stream > domain+app > stream > app > domain > none.
 */
export function specificity(rule: RecordRule): [number, number, number, number] {
  const stream = rule.StreamName ? 1 : 0;
  const app = rule.AppName ? 1 : 0;
  const domain = rule.DomainName ? 1 : 0;
  return [stream + app + domain, stream, app, domain];
}

function compareSpecificity(a: RecordRule, b: RecordRule): number {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return sb[i]! - sa[i]!;
  // Equal shape (two domains of one stream): the older rule wins, so a new rule never silently takes over.
  return a.createdMs - b.createdMs;
}

/** The matching rules of a stream, most specific first. */
export function matchingRules(rules: readonly RecordRule[], at: StreamAddress): RecordRule[] {
  return rules.filter((rule) => ruleMatches(rule, at)).sort(compareSpecificity);
}

/** Tencent StorageTime (seconds) as whole days, rounded up; 0 stays 0 (forever). */
export function storageDaysOf(storageTimeSeconds: number): number {
  return Math.ceil(storageTimeSeconds / DAY_SECONDS);
}

/** The recording config a Tencent template gives: its enabled formats, their intervals and retention, its resume window. */
export function recordConfigFromTemplate(template: RecordTemplate, base: RecordConfig): RecordConfig {
  const formats: RecordFormat[] = [];
  const intervals: Partial<Record<RecordFormat, number>> = {};
  const retentionDays: Partial<Record<RecordFormat, number>> = {};
  for (const format of RECORD_FORMATS) {
    const param = template[FORMAT_PARAMS[format]];
    if (param.Enable !== 1) continue;
    formats.push(format);
    // HLS is never split: one playlist runs from push to end (RecordInterval has no effect on it).
    if (format !== 'hls') intervals[format] = param.RecordInterval;
    retentionDays[format] = storageDaysOf(param.StorageTime);
  }
  return {
    ...base,
    formats,
    hlsResumeTimeoutSeconds: template.HlsSpecialParam.FlowContinueDuration,
    templateId: template.TemplateId,
    intervals,
    retentionDays,
  };
}

/**
 * Decides a new recording: the most specific matching rule's template; no rule: the config's own template, or with
 * `auto` false no recording. A rule whose template enables no format records nothing.
 */
export function resolveRecording(
  rules: readonly RecordRule[],
  templates: readonly RecordTemplate[],
  base: RecordConfig,
  auto: boolean,
  at: StreamAddress,
): RecordingDecision {
  for (const rule of matchingRules(rules, at)) {
    const template = templates.find((t) => t.TemplateId === rule.TemplateId);
    // A rule's template cannot be deleted, so this is only a guard; the next rule decides.
    if (!template) continue;
    const config = recordConfigFromTemplate(template, base);
    if (config.formats.length === 0) {
      return { record: false, reason: `template ${template.TemplateId} enables no format`, rule };
    }
    return { record: true, config, rule };
  }
  if (!auto)
    return { record: false, reason: 'no recording rule matches and record.auto is false', rule: undefined };
  return { record: true, config: base, rule: undefined };
}

/** Seconds per file of a format: the template's RecordInterval, else maxFileDurationSeconds. */
export function fileSecondsFor(record: RecordConfig, format: RecordFormat): number {
  return record.intervals?.[format] ?? record.maxFileDurationSeconds;
}

/** Retention days of a format's files: the template's StorageTime in days, else storageDays; 0 = forever. */
export function retentionDaysFor(record: RecordConfig, format: RecordFormat): number {
  return record.retentionDays?.[format] ?? record.storageDays;
}

/** Refuses a template that would keep files forever, for stores that lock each object until it expires. */
export function requireRetention(template: RecordTemplate): string | undefined {
  for (const [format, name] of Object.entries(FORMAT_PARAMS)) {
    const param = template[name];
    if (param.Enable === 1 && param.StorageTime === 0) {
      return `${name}.StorageTime must be at least 1 day for ${format} while storage.objectLock is set`;
    }
  }
  return undefined;
}
