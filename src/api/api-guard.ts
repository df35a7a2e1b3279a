import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf, runAs, setActor } from '../audit/context.js';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** A named bearer token: a viewer lists and plays; an admin may also delete, change expiry, redeliver, drain. */
export interface ApiToken {
  name: string;
  token: string;
  role: 'admin' | 'viewer';
}

/** The tokens of the config: `api.tokens`, and `api.adminToken` as an admin named `admin` (pure). */
export function apiTokens(api: { adminToken?: string | undefined; tokens: readonly ApiToken[] }): ApiToken[] {
  return [
    ...(api.adminToken ? [{ name: 'admin', token: api.adminToken, role: 'admin' as const }] : []),
    ...api.tokens,
  ];
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a client address is this machine's. */
export function isLoopback(address: string): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** Whether a given secret equals the expected one, in a time that does not tell how much of it matched. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Who a request is (its token's name) or why it is refused (pure but for the timing-safe compare). */
export function apiCaller(
  tokens: readonly ApiToken[],
  o: { method: string; ip: string; authorization: string | undefined; path: string },
): { name: string; role: ApiToken['role'] } {
  if (tokens.length === 0) {
    if (!isLoopback(o.ip))
      throw new AppError('FORBIDDEN', 'set api.tokens (or api.adminToken) to use /api/ from other hosts');
    return { name: 'loopback', role: 'admin' };
  }
  const given = /^Bearer (.+)$/.exec(o.authorization ?? '')?.[1] ?? '';
  // Every token is compared, so the time taken does not tell which one nearly matched.
  let found: ApiToken | undefined;
  for (const t of tokens) if (sameSecret(given, t.token)) found ??= t;
  if (!found) throw new AppError('UNAUTHORIZED', 'missing or wrong bearer token');
  if (found.role === 'viewer' && !READS.has(o.method)) {
    throw new AppError('FORBIDDEN', `token ${found.name} is a viewer: it may not ${o.method} ${o.path}`);
  }
  return { name: found.name, role: found.role };
}

/** A console session, when a request carries one: who, and the CSRF token its changes must send back. */
export type SessionLookup = (
  request: FastifyRequest,
) => Promise<{ name: string; role: ApiToken['role']; csrf: string } | undefined>;

/** The header a session's change carries its CSRF token in; a page of another site cannot set it. */
export const CSRF_HEADER = 'x-csrf-token';

/** Who a request with a console session is; a change must carry the session's CSRF token (pure but for compare). */
export function sessionCaller(
  session: { name: string; role: ApiToken['role']; csrf: string },
  o: { method: string; path: string; csrf: string | undefined },
): { name: string; role: ApiToken['role'] } {
  if (!READS.has(o.method)) {
    if (!sameSecret(o.csrf ?? '', session.csrf)) {
      throw new AppError('FORBIDDEN', `a change from the console needs its ${CSRF_HEADER} header`);
    }
    if (session.role === 'viewer') {
      throw new AppError('FORBIDDEN', `${session.name} is a viewer: it may not ${o.method} ${o.path}`);
    }
  }
  return { name: session.name, role: session.role };
}

/**
 * Guards every `/api/` route by the tokens, or by a console session when the request has one and no bearer
 * token; a change is logged with the name of the token (or session) that made it.
 */
export function registerApiGuard(
  app: FastifyInstance,
  tokens: readonly ApiToken[],
  logger: Logger,
  sessions?: SessionLookup,
): void {
  const log = logger.child({ component: 'api' });
  // Each handler runs as its request's caller, so what it records (a delete, a signed URL) names them: a hook's
  // context does not reach the handler on its own.
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: unknown, request, reply) {
      return runAs(actorOf(request), () => handler.call(this as never, request, reply));
    };
  });
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!request.url.startsWith('/api/')) return;
    const path = request.url.split('?')[0]!;
    const session = request.headers.authorization ? undefined : await sessions?.(request);
    const csrf = request.headers[CSRF_HEADER];
    const caller = session
      ? sessionCaller(session, {
          method: request.method,
          path,
          csrf: typeof csrf === 'string' ? csrf : undefined,
        })
      : apiCaller(tokens, {
          method: request.method,
          ip: request.ip,
          authorization: request.headers.authorization,
          path,
        });
    // What the request does from here on (its audit entries, and the one of the change itself) is the caller's.
    setActor(request, { who: caller.name, from: request.ip, role: caller.role });
    if (!READS.has(request.method))
      log.info({ user: caller.name, method: request.method, path }, 'api change');
  });
}
