import { tencentTimeText } from '../naming/names.js';
import {
  createRuleInput,
  createTemplateInput,
  deleteRuleInput,
  listRulesInput,
  listTemplatesInput,
  modifyTemplateInput,
  templateIdInput,
  TemplateError,
  type RecordRule,
  type TemplateBook,
  type TemplateErrorCode,
} from '../templates/index.js';
import {
  parseTencentParams,
  TencentApiError,
  type TencentActionHandler,
  type TencentActionRegistry,
  type TencentApiErrorCode,
} from './tencent-api.js';

/** Tencent's code for each refusal of the template book (Tencent's own detail codes where it documents one). */
const ERROR_CODES: Readonly<Record<TemplateErrorCode, TencentApiErrorCode>> = {
  TEMPLATE_NOT_FOUND: 'ResourceNotFound',
  TEMPLATE_IN_USE: 'FailedOperation.ConfInUsed',
  TEMPLATE_LIMIT: 'LimitExceeded',
  TEMPLATE_INVALID: 'InvalidParameterValue',
  RULE_EXISTS: 'FailedOperation.RuleAlreadyExist',
  RULE_NOT_FOUND: 'ResourceNotFound',
  RULE_LIMIT: 'LimitExceeded',
};

export interface TemplateActionsOptions {
  book: TemplateBook;
  /** Zone of RuleInfo's CreateTime and UpdateTime (`YYYY-MM-DD HH:MM:SS`, as Tencent answers them). */
  timeZone: string;
}

/** Registers the Live API (2018-08-01) recording template and rule actions. */
export function registerTemplateActions(
  registry: TencentActionRegistry,
  options: TemplateActionsOptions,
): void {
  const { book, timeZone } = options;
  const ruleInfo = (rule: RecordRule) => ({
    CreateTime: tencentTimeText(rule.createdMs, timeZone),
    UpdateTime: tencentTimeText(rule.updatedMs, timeZone),
    TemplateId: rule.TemplateId,
    DomainName: rule.DomainName,
    AppName: rule.AppName,
    StreamName: rule.StreamName,
  });
  const actions: Record<string, TencentActionHandler> = {
    CreateLiveRecordTemplate: async (params) => {
      const template = await book.createTemplate(parseTencentParams(createTemplateInput, params));
      return { TemplateId: template.TemplateId };
    },
    DescribeLiveRecordTemplates: async (params) => {
      const { IsDelayLive } = parseTencentParams(listTemplatesInput, params);
      return {
        Templates: book.templates.filter((t) => IsDelayLive === undefined || t.IsDelayLive === IsDelayLive),
      };
    },
    DescribeLiveRecordTemplate: async (params) => {
      const { TemplateId } = parseTencentParams(templateIdInput, params);
      const template = book.template(TemplateId);
      if (!template) throw new TencentApiError('ResourceNotFound', `template ${TemplateId} does not exist`);
      return { Template: template };
    },
    ModifyLiveRecordTemplate: async (params) => {
      await book.modifyTemplate(parseTencentParams(modifyTemplateInput, params));
      return {};
    },
    DeleteLiveRecordTemplate: async (params) => {
      await book.deleteTemplate(parseTencentParams(templateIdInput, params).TemplateId);
      return {};
    },
    CreateLiveRecordRule: async (params) => {
      await book.createRule(parseTencentParams(createRuleInput, params));
      return {};
    },
    DescribeLiveRecordRules: async (params) => {
      parseTencentParams(listRulesInput, params);
      return { Rules: book.rules.map(ruleInfo) };
    },
    DeleteLiveRecordRule: async (params) => {
      await book.deleteRule(parseTencentParams(deleteRuleInput, params));
      return {};
    },
  };
  for (const [action, handler] of Object.entries(actions)) {
    registry.register('live', action, async (params, ctx) => {
      try {
        return await handler(params, ctx);
      } catch (err) {
        if (err instanceof TemplateError) throw new TencentApiError(ERROR_CODES[err.code], err.message);
        throw err;
      }
    });
  }
}
