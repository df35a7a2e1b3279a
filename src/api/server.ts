import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve } from 'node:path';
import fastifyCors from '@fastify/cors';
import { fastifyStatic } from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifyPlugin from 'fastify-plugin';
import {
  fastify,
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { AppError, errorMessage, ListenError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { MEDIA_CONTENT_TYPES } from '../storage/content-type.js';
import { openApiOperation, OPENAPI_INFO } from './openapi.js';
import { TencentApiError, type TencentApiErrorCode } from './tencent-api.js';

/** What the HTTP edge needs: where to bind, which directory to serve, and how to report readiness. */
export interface HttpServerOptions {
  /** The last storage error, or undefined while storage works. */
  storageStatus?: () => string | undefined;
  /** Why the cluster's Redis cannot be used now; undefined while it can (or on one node). */
  clusterStatus?: () => string | undefined;
  host: string;
  port: number;
  dataDir: string;
  logger: Logger;
  isReady?: () => boolean;
  /** Why the node takes no new publish (full, draining): /readyz answers 503 with it, for the balancer. */
  unready?: () => Record<string, unknown> | undefined;
  /** Largest request body, in bytes, of every route that does not set its own (the Tencent API does). */
  bodyLimitBytes?: number;
  /** Origins whose pages may call every route (http.cors.origins); unset: no CORS headers. */
  corsOrigins?: '*' | readonly string[];
  /** Runs before the files of dataDir are served (signed playback URLs); it may answer the request itself. */
  fileGuard?: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
}

/** Default of `bodyLimitBytes`: the /api/ routes take small JSON bodies. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/** Routes under this prefix answer errors in Tencent's shape. */
const API_PREFIX = '/api/';

/** The HTTP edge: health probes and recorded files; more routes are registered on `app` before `listen()`. */
export interface HttpServer {
  readonly app: FastifyInstance;
  /**
   * Registers routes (and hooks) on the app as a whole, after the OpenAPI collector is loaded, so each route
   * is seen by it. Routes added straight to `app` work the same but are left out of /api/openapi.json.
   */
  addRoutes(register: (app: FastifyInstance) => void): void;
  /** Every route registered so far, as `METHOD url` (HEAD left out). */
  routes(): string[];
  listen(): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

/** Builds the fastify app with health probes and static serving of `dataDir`; nothing is bound until `listen()`. */
export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const dataDir = resolve(opts.dataDir);
  const isReady = opts.isReady ?? (() => true);

  // Widened to the default logger type so route plugins written against plain FastifyInstance register cleanly.
  const app = fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
  }) as unknown as FastifyInstance;

  // The /api/ routes and their methods, so a wrong method answers 405 rather than 404.
  const apiRoutes: { pattern: RegExp; methods: string[] }[] = [];
  const allRoutes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') allRoutes.push(`${method} ${route.url}`);
    if (!route.url.startsWith(API_PREFIX)) return;
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    apiRoutes.push({ pattern: routePattern(route.url), methods });
  });

  if (opts.corsOrigins) {
    const origins = opts.corsOrigins;
    // Registered first, so preflights and headers cover the media files and /api/ alike.
    void app.register(fastifyCors, {
      origin: origins === '*' ? '*' : [...origins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: [
        'authorization',
        'content-type',
        'range',
        'x-tc-action',
        'x-tc-version',
        'x-tc-timestamp',
        'x-tc-region',
      ],
      exposedHeaders: ['content-length', 'content-range', 'accept-ranges'],
      maxAge: 600,
    });
  }

  // First, so it sees every route added through addRoutes; what each says is in openapi.ts, not on the routes,
  // so documenting a route changes neither how it validates nor how it serializes.
  void app.register(fastifySwagger, {
    openapi: OPENAPI_INFO,
    transform: ({ url, route }) => {
      const method = [route.method].flat()[0]!;
      const documented = openApiOperation(method, url);
      return { schema: documented ?? { hide: true }, url: url.replace(/\*$/, '{key}') };
    },
  });
  const addRoutes = (register: (scope: FastifyInstance) => void) => {
    void app.register(
      fastifyPlugin(async (scope: FastifyInstance) => {
        register(scope);
      }),
    );
  };

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const message = `Route ${request.method} ${request.url} not found`;
    if (!isApiRequest(request)) return void reply.code(404).send(errorBody(404, message));
    const path = request.url.split('?')[0]!;
    const allowed = [
      ...new Set(apiRoutes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods)),
    ].sort();
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      const refused = `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`;
      return void reply.code(405).send(apiErrorBody(405, 'UnsupportedOperation', refused));
    }
    void reply.code(404).send(apiErrorBody(404, 'InvalidAction', message));
  });

  const readiness = async (reply: FastifyReply) => {
    if (!isReady()) return reply.code(503).send({ status: 'not ready' });
    const unready = opts.unready?.();
    if (unready) return reply.code(503).send(unready);
    // Storage or Redis trouble is reported but not fatal: recordings go on and files wait locally.
    const storageError = opts.storageStatus?.();
    const redisError = opts.clusterStatus?.();
    return {
      status: 'ready',
      ...(storageError ? { storage: { ok: false, error: storageError } } : {}),
      ...(redisError ? { redis: { ok: false, error: redisError } } : {}),
    };
  };
  addRoutes((scope) => {
    scope.get('/api/openapi.json', async () => scope.swagger());
    scope.get('/healthz', async () => ({ status: 'ok' }));
    scope.get('/readyz', async (_request, reply) => readiness(reply));
  });

  void app.register(async (scope) => {
    await mkdir(dataDir, { recursive: true });
    scope.addHook('onSend', overrideMediaContentType);
    if (opts.fileGuard) scope.addHook('onRequest', opts.fileGuard);
    await scope.register(fastifyStatic, {
      root: dataDir,
      prefix: '/',
      decorateReply: false,
      index: false,
      list: false,
      redirect: false,
      dotfiles: 'ignore',
      allowedPath: isServablePath,
    });
  });

  let closing: Promise<void> | undefined;

  return {
    app,
    addRoutes,
    routes: () => [...allRoutes],
    async listen() {
      // Plugin failures (e.g. dataDir cannot be created) surface as themselves, not as a port problem.
      await app.ready();
      try {
        await app.listen({ host: opts.host, port: opts.port });
      } catch (err) {
        throw new ListenError(listenFailureMessage(opts.host, opts.port, err), { cause: err });
      }
      const address = app.server.address() as AddressInfo;
      return { host: address.address, port: address.port };
    },
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

/** True for `/a/b.ext` paths with no empty, dot-prefixed or backslash-bearing segment. */
function isServablePath(pathname: string): boolean {
  if (pathname.includes('\0') || pathname.includes('\\')) return false;
  const segments = pathname.split('/').slice(1);
  return segments.length > 0 && segments.every((s) => s.length > 0 && !s.startsWith('.'));
}

async function overrideMediaContentType(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (reply.statusCode !== 200 && reply.statusCode !== 206) return payload;
  const served = (request.params as { '*'?: unknown })['*'];
  if (typeof served !== 'string') return payload;
  const type = MEDIA_CONTENT_TYPES[extname(served).toLowerCase()];
  if (type !== undefined) void reply.header('content-type', type);
  return payload;
}

function errorBody(
  statusCode: number,
  message: string,
): { statusCode: number; error: string; message: string } {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

/**
 * An /api/ error: Tencent's `{"Response":{"Error":{"Code","Message"},"RequestId"}}`, with the HTTP status as the
 * true answer; the plain statusCode/error/message fields stay for clients written against them.
 */
function apiErrorBody(statusCode: number, code: TencentApiErrorCode, message: string) {
  return {
    Response: { Error: { Code: code, Message: message }, RequestId: randomUUID() },
    ...errorBody(statusCode, message),
  };
}

function isApiRequest(request: FastifyRequest): boolean {
  return request.url.startsWith(API_PREFIX);
}

/** `/api/callbacks/dead/:id/redeliver` as a regular expression over request paths. */
function routePattern(url: string): RegExp {
  const parts = url
    .split('/')
    .map((part) =>
      part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    );
  return new RegExp(`^${parts.join('/')}$`);
}

interface HttpishError {
  statusCode?: unknown;
  status?: unknown;
  headers?: unknown;
  code?: unknown;
}

// Stable AppError codes and the status each one answers with.
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  NOT_FOUND: 404,
  INVALID_KEY: 400,
  INVALID_LIST_QUERY: 400,
  INVALID_NAME: 400,
  STORAGE_LOCKED: 409,
  STORAGE_UNAVAILABLE: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
});

// The Tencent code an /api/ answer carries for each AppError code.
const TENCENT_CODE_BY_CODE: Readonly<Record<string, TencentApiErrorCode>> = Object.freeze({
  NOT_FOUND: 'ResourceNotFound',
  INVALID_KEY: 'InvalidParameterValue',
  INVALID_LIST_QUERY: 'InvalidParameterValue',
  INVALID_NAME: 'InvalidParameterValue',
  STORAGE_LOCKED: 'ResourceInUse',
  UNAUTHORIZED: 'AuthFailure.InvalidAuthorization',
  FORBIDDEN: 'UnauthorizedOperation',
});

/** The HTTP status of a Tencent error code raised by an /api/ route. */
export function statusOfTencentCode(code: TencentApiErrorCode): number {
  const base = code.split('.')[0]!;
  switch (base) {
    case 'AuthFailure':
      return 401;
    case 'UnauthorizedOperation':
      return 403;
    case 'ResourceNotFound':
      return 404;
    case 'UnsupportedOperation':
      return 405;
    case 'ResourceInUse':
    case 'FailedOperation':
      return 409;
    case 'RequestSizeLimitExceeded':
      return 413;
    case 'LimitExceeded':
    case 'RequestLimitExceeded':
      return 429;
    case 'InternalError':
      return 500;
    default:
      return 400;
  }
}

/** The Tencent code of a client error fastify or a route raised with only an HTTP status. */
export function tencentCodeOfStatus(statusCode: number): TencentApiErrorCode {
  switch (statusCode) {
    case 401:
      return 'AuthFailure.InvalidAuthorization';
    case 403:
      return 'UnauthorizedOperation';
    case 404:
      return 'ResourceNotFound';
    case 405:
      return 'UnsupportedOperation';
    case 409:
      return 'ResourceInUse';
    case 413:
      return 'RequestSizeLimitExceeded';
    case 415:
      return 'InvalidParameter.ContentType';
    case 429:
      return 'RequestLimitExceeded';
    default:
      return statusCode >= 500 ? 'InternalError' : 'InvalidParameter';
  }
}

// The one place an error becomes a response: no stacks, and 5xx details stay in the log.
function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = (typeof err === 'object' && err !== null ? err : {}) as HttpishError;
  const api = isApiRequest(request);
  const tencentCode = err instanceof TencentApiError ? err.code : undefined;
  const code =
    tencentCode !== undefined
      ? statusOfTencentCode(tencentCode)
      : err instanceof AppError
        ? STATUS_BY_CODE[err.code]
        : undefined;
  const raw =
    code ?? (typeof e.statusCode === 'number' ? e.statusCode : typeof e.status === 'number' ? e.status : 500);
  const statusCode = raw >= 400 && raw <= 599 ? raw : 500;
  if (statusCode >= 500) {
    request.log.error({ err, method: request.method, url: request.url }, 'request failed');
    const message = STATUS_CODES[statusCode] ?? 'Error';
    void reply
      .code(statusCode)
      .send(api ? apiErrorBody(statusCode, 'InternalError', message) : errorBody(statusCode, message));
    return;
  }
  // A 416 from send carries Content-Range; keep such headers.
  if (typeof e.headers === 'object' && e.headers !== null) {
    void reply.headers(e.headers as Record<string, string>);
  }
  if (!api) return void reply.code(statusCode).send(errorBody(statusCode, errorMessage(err)));
  const apiCode =
    tencentCode ??
    (err instanceof AppError ? TENCENT_CODE_BY_CODE[err.code] : undefined) ??
    tencentCodeOfStatus(statusCode);
  const message =
    e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
      ? `the request body exceeds ${request.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES} bytes`
      : errorMessage(err);
  request.log.debug({ code: apiCode, method: request.method, url: request.url }, 'api request refused');
  void reply.code(statusCode).send(apiErrorBody(statusCode, apiCode, message));
}

function listenFailureMessage(host: string, port: number, err: unknown): string {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch ((err as { code?: unknown } | null)?.code) {
    case 'EADDRINUSE':
      return `HTTP port ${where} is already in use`;
    case 'EACCES':
      return `HTTP port ${where} needs more privileges to bind`;
    case 'EADDRNOTAVAIL':
      return `HTTP address ${host} is not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `HTTP host ${host} cannot be resolved`;
    default:
      return `HTTP server cannot listen on ${where}: ${errorMessage(err)}`;
  }
}
