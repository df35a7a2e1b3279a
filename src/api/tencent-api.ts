import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { setActor } from '../audit/context.js';
import { AppError, errorMessage } from '../shared/errors.js';
import { verifyTc3, type Tc3Credential } from './tc3.js';

/** The Tencent products this endpoint answers for, each with the one API version it speaks. */
export const TENCENT_API_VERSIONS = Object.freeze({ live: '2018-08-01', vod: '2018-07-17' } as const);
export type TencentService = keyof typeof TENCENT_API_VERSIONS;

/** Tencent's common error codes; a product may refine one as `Code.Detail` (e.g. `ResourceNotFound.TaskId`). */
export type TencentCommonErrorCode =
  | 'AuthFailure.InvalidAuthorization'
  | 'AuthFailure.SecretIdNotFound'
  | 'AuthFailure.SignatureExpire'
  | 'AuthFailure.SignatureFailure'
  | 'FailedOperation'
  | 'InternalError'
  | 'InvalidAction'
  | 'InvalidParameter'
  | 'InvalidParameterValue'
  | 'LimitExceeded'
  | 'MissingParameter'
  | 'NoSuchVersion'
  | 'RequestLimitExceeded'
  | 'RequestSizeLimitExceeded'
  | 'ResourceInUse'
  | 'ResourceNotFound'
  | 'UnauthorizedOperation'
  | 'UnknownParameter'
  | 'UnsupportedOperation';
export type TencentApiErrorCode = TencentCommonErrorCode | `${TencentCommonErrorCode}.${string}`;

/** What an action handler throws to answer with a Tencent error code instead of InternalError. */
export class TencentApiError extends AppError {
  declare readonly code: TencentApiErrorCode;

  constructor(code: TencentApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The JSON body of a call: the action's parameters. */
export type TencentParams = Readonly<Record<string, unknown>>;

/** Who called what, for an action handler. */
export interface TencentActionContext {
  requestId: string;
  secretId: string;
  service: TencentService;
  action: string;
  /** X-TC-Region, when the client sent one. */
  region: string | undefined;
  log: FastifyBaseLogger;
}

/** Answers one action; the result becomes `Response` (RequestId is added). Throw TencentApiError for a client error. */
export type TencentActionHandler = (params: TencentParams, ctx: TencentActionContext) => Promise<object>;

type Resolution =
  | { ok: true; service: TencentService; handler: TencentActionHandler }
  | { ok: false; code: 'NoSuchVersion' | 'InvalidAction'; message: string };

/** Action handlers by (service, action); the service fixes the version. Later modules register here. */
export class TencentActionRegistry {
  readonly #handlers = new Map<string, TencentActionHandler>();

  /** Adds a handler; one action has one handler. */
  register(service: TencentService, action: string, handler: TencentActionHandler): this {
    const key = `${service}:${action}`;
    if (this.#handlers.has(key)) throw new Error(`Tencent action ${key} is registered twice`);
    this.#handlers.set(key, handler);
    return this;
  }

  /**
   * Finds the handler for a call. The version names the product; a signed service that is one of ours must agree
   * with it, any other (the SDK signs `127` for an endpoint of 127.0.0.1:PORT) is left to the version.
   */
  resolve(signedService: string, version: string, action: string): Resolution {
    const service = (Object.keys(TENCENT_API_VERSIONS) as TencentService[]).find(
      (s) => TENCENT_API_VERSIONS[s] === version,
    );
    if (service === undefined) {
      return { ok: false, code: 'NoSuchVersion', message: `the API version ${version} does not exist` };
    }
    if (isTencentService(signedService) && signedService !== service) {
      return { ok: false, code: 'NoSuchVersion', message: `${signedService} has no API version ${version}` };
    }
    const handler = this.#handlers.get(`${service}:${action}`);
    if (!handler) {
      return { ok: false, code: 'InvalidAction', message: `the action ${action} does not exist` };
    }
    return { ok: true, service, handler };
  }
}

/** Validates parameters with a zod schema; a mismatch becomes the Tencent code for its kind. */
export function parseTencentParams<T>(schema: z.ZodType<T>, params: TencentParams): T {
  const result = schema.safeParse(params, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.path.join('.') || 'body';
  const code: TencentApiErrorCode =
    issue.code === 'invalid_type'
      ? issue.input === undefined
        ? 'MissingParameter'
        : 'InvalidParameter'
      : issue.code === 'unrecognized_keys'
        ? 'UnknownParameter'
        : 'InvalidParameterValue';
  throw new TencentApiError(code, `${name}: ${issue.message}`);
}

export interface TencentApiOptions {
  credentials: readonly Tc3Credential[];
  /** Current time in ms; tests move it. */
  now?: () => number;
  actions: TencentActionRegistry;
}

// Tencent accepts up to 10 MB with signature v3.
const BODY_LIMIT = 10 * 1024 * 1024;

/**
 * Tencent Cloud API 3.0 on `POST /`: TC3-HMAC-SHA256 verification, then the registered action.
 * Every answer is HTTP 200 with `{"Response": ...}`, as the official SDKs expect: they ignore the body of any other status.
 */
export function registerTencentApi(app: FastifyInstance, options: TencentApiOptions): void {
  const now = options.now ?? Date.now;
  void app.register(async (scope) => {
    // The signature covers the raw bytes, so this scope keeps them instead of parsing JSON; other routes are untouched.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((err, request, reply) => {
      const requestId = randomUUID();
      const status = (err as { statusCode?: unknown }).statusCode;
      if (status === 413) {
        return answerError(reply, requestId, 'RequestSizeLimitExceeded', 'the request body exceeds 10 MB');
      }
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return answerError(reply, requestId, 'InvalidParameter', errorMessage(err));
      }
      request.log.error({ err, requestId }, 'tencent api request failed');
      return answerError(reply, requestId, 'InternalError', 'an internal error occurred; retry later');
    });
    scope.post('/', { bodyLimit: BODY_LIMIT }, (request, reply) => handleCall(request, reply, options, now));
  });
}

async function handleCall(
  request: FastifyRequest,
  reply: FastifyReply,
  options: TencentApiOptions,
  now: () => number,
): Promise<FastifyReply> {
  const requestId = randomUUID();
  const traceId = request.headers['x-tc-traceid'];
  if (typeof traceId === 'string') void reply.header('X-TC-TraceId', traceId);
  const action = headerValue(request, 'x-tc-action');
  const version = headerValue(request, 'x-tc-version');
  const log = request.log.child({ requestId, action });
  if (!action) return answerError(reply, requestId, 'MissingParameter', 'the request is missing `Action`');
  if (!version) return answerError(reply, requestId, 'MissingParameter', 'the request is missing `Version`');

  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const queryAt = request.url.indexOf('?');
  const auth = verifyTc3(
    {
      method: request.method,
      query: queryAt < 0 ? '' : request.url.slice(queryAt + 1),
      headers: request.headers,
      body,
    },
    options.credentials,
    now() / 1000,
  );
  if (!auth.ok) {
    log.info({ code: auth.code, reason: auth.message }, 'tencent api call refused');
    return answerError(reply, requestId, auth.code, auth.message);
  }
  // The action's audit entries name the key that signed it (its SecretId; never the secret).
  setActor(request, { who: auth.secretId, from: request.ip });

  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') {
    return answerError(
      reply,
      requestId,
      'InvalidParameter',
      'the body must be JSON (Content-Type: application/json)',
    );
  }
  const params = parseBody(body);
  if (params === undefined) {
    return answerError(reply, requestId, 'InvalidParameter', 'the body is not a JSON object');
  }

  const found = options.actions.resolve(auth.service, version, action);
  if (!found.ok) return answerError(reply, requestId, found.code, found.message);

  try {
    const result = await found.handler(params, {
      requestId,
      secretId: auth.secretId,
      service: found.service,
      action,
      region: headerValue(request, 'x-tc-region'),
      log,
    });
    return reply.code(200).send({ Response: { ...result, RequestId: requestId } });
  } catch (err) {
    if (err instanceof TencentApiError) return answerError(reply, requestId, err.code, err.message);
    log.error({ err, secretId: auth.secretId }, 'tencent api action failed');
    return answerError(reply, requestId, 'InternalError', 'an internal error occurred; retry later');
  }
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** The parameters, or undefined when the body is not a JSON object; an empty body means no parameters. */
function parseBody(body: Buffer): TencentParams | undefined {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as TencentParams)
    : undefined;
}

function isTencentService(name: string): name is TencentService {
  return Object.hasOwn(TENCENT_API_VERSIONS, name);
}

// Tencent answers errors with HTTP 200 too; the SDK reads Code and Message from the body.
function answerError(
  reply: FastifyReply,
  requestId: string,
  code: TencentApiErrorCode,
  message: string,
): FastifyReply {
  return reply
    .code(200)
    .send({ Response: { Error: { Code: code, Message: message }, RequestId: requestId } });
}
