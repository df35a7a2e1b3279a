import { z } from 'zod';
import type { DocumentStore } from '../shared/document-store.js';
import { AppError, errorMessage } from '../shared/errors.js';
import {
  FORMAT_PARAMS,
  TEMPLATE_LIMITS,
  mergeRecordParam,
  type CreateTemplateInput,
  type ModifyTemplateInput,
  type RecordParam,
  type RecordRule,
  type RecordTemplate,
} from './model.js';

export type TemplateErrorCode =
  | 'TEMPLATE_NOT_FOUND'
  | 'TEMPLATE_IN_USE'
  | 'TEMPLATE_LIMIT'
  | 'TEMPLATE_INVALID'
  | 'RULE_EXISTS'
  | 'RULE_NOT_FOUND'
  | 'RULE_LIMIT';

/** A template or rule operation the book refuses; the API maps each code to Tencent's. */
export class TemplateError extends AppError {
  declare readonly code: TemplateErrorCode;

  constructor(code: TemplateErrorCode, message: string) {
    super(code, message);
  }
}

/** The state file could not be read or written. */
export class TemplateStoreError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TEMPLATE_STORE_FAILED', message, options);
  }
}

export interface TemplateBookOptions {
  /** Where the state is kept: `dataDir/.state/templates.json`, or the cluster's Redis. */
  store: DocumentStore;
  /** A change another node made could not be read; the book keeps what it had. */
  onReloadError?: (err: unknown) => void;
  now?: () => number;
  /** Extra checks of a template before it is stored (e.g. object lock needs a retention); a reason refuses it. */
  validate?: (template: RecordTemplate) => string | undefined;
}

/** Which rule a DeleteLiveRecordRule names: the exact (domain, app, stream). */
export interface RuleKey {
  DomainName: string;
  AppName: string;
  StreamName: string;
}

interface State {
  /** TemplateIds are never reused, so the next one survives deletes and restarts. */
  nextTemplateId: number;
  templates: readonly RecordTemplate[];
  rules: readonly RecordRule[];
}

const recordParamStored = z.looseObject({
  RecordInterval: z.number().int(),
  StorageTime: z.number().int(),
  Enable: z.number().int(),
});
const stateFile = z.object({
  version: z.literal(1),
  nextTemplateId: z.number().int().min(1),
  templates: z.array(
    z.looseObject({
      TemplateId: z.number().int().min(1),
      TemplateName: z.string(),
      Description: z.string(),
      FlvParam: recordParamStored,
      HlsParam: recordParamStored,
      Mp4Param: recordParamStored,
      AacParam: recordParamStored,
      HlsSpecialParam: z.looseObject({ FlowContinueDuration: z.number().int() }),
      IsDelayLive: z.number().int(),
    }),
  ),
  rules: z.array(
    z.object({
      DomainName: z.string(),
      AppName: z.string(),
      StreamName: z.string(),
      TemplateId: z.number().int().min(1),
      createdMs: z.number(),
      updatedMs: z.number(),
    }),
  ),
});

const EMPTY: State = Object.freeze({ nextTemplateId: 1, templates: [], rules: [] });

/**
 * Tencent recording templates and rules, kept as one JSON document (a file written durably, or a Redis key the
 * cluster shares). Reads are synchronous from memory; changes run one at a time and take effect only once
 * stored; another node's changes are read as it announces them.
 */
export class TemplateBook {
  readonly #o: TemplateBookOptions;
  readonly #now: () => number;
  #state: State = EMPTY;
  #loading: Promise<void> | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: TemplateBookOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Reads the state (none yet: no templates, no rules), and follows the changes other nodes make. Idempotent;
   * rejects on a state it cannot trust.
   */
  load(): Promise<void> {
    this.#loading ??= (async () => {
      this.#state = await this.#read();
      this.#o.store.watch(() => {
        this.#chain = this.#chain
          .then(async () => {
            this.#state = await this.#read();
          })
          .catch((err: unknown) => this.#o.onReloadError?.(err));
      });
    })();
    return this.#loading;
  }

  async #read(): Promise<State> {
    const { where } = this.#o.store;
    let text: string | undefined;
    try {
      text = await this.#o.store.read();
    } catch (err) {
      throw new TemplateStoreError(`cannot read ${where}: ${errorMessage(err)}`, { cause: err });
    }
    return text === undefined ? EMPTY : parseState(text, where);
  }

  /** Every template, in TemplateId order. */
  get templates(): readonly RecordTemplate[] {
    return this.#state.templates;
  }

  /** Every rule, oldest first. */
  get rules(): readonly RecordRule[] {
    return this.#state.rules;
  }

  template(id: number): RecordTemplate | undefined {
    return this.#state.templates.find((t) => t.TemplateId === id);
  }

  /** Adds a template with the next TemplateId; parameter sets not given are disabled with Tencent's defaults. */
  createTemplate(input: CreateTemplateInput): Promise<RecordTemplate> {
    return this.#change((state) => {
      if (state.templates.length >= TEMPLATE_LIMITS.templates) {
        throw new TemplateError('TEMPLATE_LIMIT', `at most ${TEMPLATE_LIMITS.templates} templates can exist`);
      }
      const template = this.#checked(
        applyTemplateInput(
          {
            TemplateId: state.nextTemplateId,
            TemplateName: input.TemplateName,
            Description: '',
            FlvParam: mergeRecordParam(undefined, undefined),
            HlsParam: mergeRecordParam(undefined, undefined),
            Mp4Param: mergeRecordParam(undefined, undefined),
            AacParam: mergeRecordParam(undefined, undefined),
            HlsSpecialParam: { FlowContinueDuration: 0 },
            IsDelayLive: 0,
          },
          input,
        ),
      );
      return {
        state: {
          ...state,
          nextTemplateId: state.nextTemplateId + 1,
          templates: [...state.templates, template],
        },
        result: template,
      };
    });
  }

  /** Changes the fields given; recordings already running keep the config they started with. */
  modifyTemplate(input: ModifyTemplateInput): Promise<RecordTemplate> {
    return this.#change((state) => {
      const current = findTemplate(state, input.TemplateId);
      const template = this.#checked(applyTemplateInput(current, input));
      return {
        state: {
          ...state,
          templates: state.templates.map((t) => (t.TemplateId === template.TemplateId ? template : t)),
        },
        result: template,
      };
    });
  }

  /** Deletes a template no rule uses. */
  deleteTemplate(id: number): Promise<void> {
    return this.#change((state) => {
      findTemplate(state, id);
      const users = state.rules.filter((r) => r.TemplateId === id);
      if (users.length) {
        throw new TemplateError(
          'TEMPLATE_IN_USE',
          `template ${id} is used by ${users.length} rule(s); delete them first (${users.map(describeRule).join(', ')})`,
        );
      }
      return {
        state: { ...state, templates: state.templates.filter((t) => t.TemplateId !== id) },
        result: undefined,
      };
    });
  }

  /** Binds a template to (domain, app, stream); one rule per triple. */
  createRule(input: RuleKey & { TemplateId: number }): Promise<RecordRule> {
    return this.#change((state) => {
      findTemplate(state, input.TemplateId);
      const existing = state.rules.find((r) => sameKey(r, input));
      if (existing) {
        throw new TemplateError(
          'RULE_EXISTS',
          `a rule for ${describeRule(input)} exists (template ${existing.TemplateId}); delete it first`,
        );
      }
      if (state.rules.length >= TEMPLATE_LIMITS.rules) {
        throw new TemplateError('RULE_LIMIT', `at most ${TEMPLATE_LIMITS.rules} rules can exist`);
      }
      const now = this.#now();
      const rule: RecordRule = {
        DomainName: input.DomainName,
        AppName: input.AppName,
        StreamName: input.StreamName,
        TemplateId: input.TemplateId,
        createdMs: now,
        updatedMs: now,
      };
      return { state: { ...state, rules: [...state.rules, rule] }, result: rule };
    });
  }

  /** Deletes the rule of exactly this (domain, app, stream). */
  deleteRule(key: RuleKey): Promise<void> {
    return this.#change((state) => {
      if (!state.rules.some((r) => sameKey(r, key))) {
        throw new TemplateError('RULE_NOT_FOUND', `no rule for ${describeRule(key)}`);
      }
      return { state: { ...state, rules: state.rules.filter((r) => !sameKey(r, key)) }, result: undefined };
    });
  }

  #checked(template: RecordTemplate): RecordTemplate {
    const reason = this.#o.validate?.(template);
    if (reason) throw new TemplateError('TEMPLATE_INVALID', reason);
    return template;
  }

  /**
   * Runs changes one at a time: each applies to the stored state (another node may have changed it), is stored
   * first, then becomes the one read.
   */
  #change<T>(apply: (state: State) => { state: State; result: T }): Promise<T> {
    const run = this.#chain.then(async () => {
      await this.load();
      const { where } = this.#o.store;
      let outcome!: { state: State; result: T };
      try {
        await this.#o.store.update((text) => {
          const changed = apply(text === undefined ? EMPTY : parseState(text, where));
          outcome = { state: freezeState(changed.state), result: changed.result };
          return `${JSON.stringify({ version: 1, ...outcome.state }, null, 2)}\n`;
        });
      } catch (err) {
        if (err instanceof TemplateError || err instanceof TemplateStoreError) throw err;
        throw new TemplateStoreError(`cannot write ${where}: ${errorMessage(err)}`, { cause: err });
      }
      this.#state = outcome.state;
      return outcome.result;
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }
}

/** The stored state; throws TemplateStoreError on one it cannot trust. */
function parseState(text: string, where: string): State {
  let parsed: z.infer<typeof stateFile>;
  try {
    parsed = stateFile.parse(JSON.parse(text));
  } catch (err) {
    // Recording with half the rules would record the wrong streams: refuse to start instead.
    throw new TemplateStoreError(`${where} is not a valid templates file: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return freezeState({
    nextTemplateId: parsed.nextTemplateId,
    templates: parsed.templates as unknown as RecordTemplate[],
    rules: parsed.rules,
  });
}

function findTemplate(state: State, id: number): RecordTemplate {
  const template = state.templates.find((t) => t.TemplateId === id);
  if (!template) throw new TemplateError('TEMPLATE_NOT_FOUND', `template ${id} does not exist`);
  return template;
}

/** The template with a request's given fields applied over the current ones. */
function applyTemplateInput(
  current: RecordTemplate,
  input: Partial<CreateTemplateInput> | ModifyTemplateInput,
): RecordTemplate {
  const next: RecordTemplate = { ...current };
  if (input.TemplateName !== undefined) next.TemplateName = input.TemplateName;
  if (input.Description !== undefined) next.Description = input.Description;
  for (const name of Object.values(FORMAT_PARAMS)) {
    if (input[name]) next[name] = mergeRecordParam(current[name], input[name]);
  }
  if (input.HlsSpecialParam?.FlowContinueDuration !== undefined) {
    next.HlsSpecialParam = { FlowContinueDuration: input.HlsSpecialParam.FlowContinueDuration };
  }
  if (input.IsDelayLive !== undefined) next.IsDelayLive = input.IsDelayLive;
  if (input.Mp3Param) next.Mp3Param = mergeRecordParam(current.Mp3Param, input.Mp3Param);
  if (input.RemoveWatermark !== undefined) next.RemoveWatermark = input.RemoveWatermark;
  if (input.FlvSpecialParam) next.FlvSpecialParam = { ...current.FlvSpecialParam, ...input.FlvSpecialParam };
  if (input.CosStore !== undefined) next.CosStore = input.CosStore;
  return next;
}

function sameKey(a: RuleKey, b: RuleKey): boolean {
  return (
    a.DomainName.toLowerCase() === b.DomainName.toLowerCase() &&
    a.AppName === b.AppName &&
    a.StreamName === b.StreamName
  );
}

function describeRule(key: RuleKey): string {
  return `${key.DomainName || '*'}/${key.AppName || '*'}/${key.StreamName || '*'}`;
}

function freezeState(state: State): State {
  const freezeParam = (p: RecordParam | undefined) => (p ? Object.freeze({ ...p }) : undefined);
  return Object.freeze({
    nextTemplateId: state.nextTemplateId,
    templates: Object.freeze(
      state.templates.map((t) => {
        const copy: RecordTemplate = { ...t };
        for (const name of Object.values(FORMAT_PARAMS)) copy[name] = freezeParam(t[name])!;
        if (t.Mp3Param) copy.Mp3Param = freezeParam(t.Mp3Param)!;
        return Object.freeze(copy);
      }),
    ),
    rules: Object.freeze(state.rules.map((r) => Object.freeze({ ...r }))),
  });
}
