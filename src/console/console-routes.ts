import { existsSync } from 'node:fs';
import { fastifyStatic } from '@fastify/static';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  apiCaller,
  CSRF_HEADER,
  isLoopback,
  sameSecret,
  type ApiToken,
  type SessionLookup,
} from '../api/api-guard.js';
import { parseTencentParams, type TencentParams } from '../api/tencent-api.js';
import type { AuditRecord } from '../audit/audit-log.js';
import { AppError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ConsoleSession, SessionStore } from './sessions.js';

export const SESSION_COOKIE = 'recorder_console';

// What a browser may load before it has a session: the login page and its own script and style.
const PUBLIC_FILES = new Set(['login.html', 'login.js', 'console.css']);

export interface ConsoleOptions {
  tokens: readonly ApiToken[];
  sessions: SessionStore;
  sessionHours: number;
  /** The built console (dist/console): index.html, login.html, their scripts and style. */
  assetsDir: string;
  logger: Logger;
  /** Logins, refused logins and logouts, for the audit trail. */
  onAudit?: (facts: AuditRecord) => void;
}

const loginBody = z.strictObject({ token: z.string().min(1).max(512) });

function cookieSession(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return header ? parseCookie(header)[SESSION_COOKIE] : undefined;
}

/** The console session a request carries, for the /api/ guard. */
export function consoleSessions(store: SessionStore): SessionLookup {
  return async (request) => {
    const id = cookieSession(request);
    return id ? store.get(id) : undefined;
  };
}

/**
 * The web console under /console/: its login and logout, the session it keeps in an httpOnly, SameSite=Strict
 * cookie, and its built files, none of which but the login page's are served without a session (or, while no
 * token is configured, to a browser on loopback).
 */
export function registerConsoleRoutes(app: FastifyInstance, options: ConsoleOptions): void {
  const log = options.logger.child({ component: 'console' });
  const ttlMs = options.sessionHours * 3_600_000;
  const open = options.tokens.length === 0;

  const who = async (
    request: FastifyRequest,
  ): Promise<Omit<ConsoleSession, 'id' | 'expiresAt'> | undefined> => {
    const id = cookieSession(request);
    const session = id ? await options.sessions.get(id) : undefined;
    if (session) return session;
    // With no token configured the API answers loopback alone, and so does the console, without a login.
    if (open && isLoopback(request.ip)) return { name: 'loopback', role: 'admin', csrf: '' };
    return undefined;
  };

  app.post('/console/login', async (request, reply) => {
    const { token } = parseTencentParams(loginBody, (request.body ?? {}) as TencentParams);
    if (open) throw new AppError('FORBIDDEN', 'no token is configured: the console is open on loopback only');
    let caller: { name: string; role: ApiToken['role'] };
    try {
      // A read, so a viewer's token logs in too; the role decides what the session may do.
      caller = apiCaller(options.tokens, {
        method: 'GET',
        ip: request.ip,
        authorization: `Bearer ${token}`,
        path: '/console/login',
      });
    } catch (err) {
      log.warn({ ip: request.ip }, 'console login refused');
      options.onAudit?.({
        action: 'console.login_refused',
        who: 'unknown',
        from: request.ip,
        detail: { reason: errorMessage(err) },
      });
      throw err;
    }
    const session = await options.sessions.create(caller, ttlMs);
    log.info({ user: session.name, role: session.role }, 'console login');
    options.onAudit?.({
      action: 'console.login',
      who: session.name,
      from: request.ip,
      detail: { role: session.role },
    });
    return reply
      .header(
        'set-cookie',
        stringifySetCookie(SESSION_COOKIE, session.id, {
          httpOnly: true,
          sameSite: 'strict',
          path: '/',
          maxAge: Math.floor(ttlMs / 1000),
        }),
      )
      .send({
        name: session.name,
        role: session.role,
        csrf: session.csrf,
        expiresAt: new Date(session.expiresAt).toISOString(),
      });
  });

  app.post('/console/logout', async (request, reply) => {
    const id = cookieSession(request);
    const session = id ? await options.sessions.get(id) : undefined;
    if (session) {
      const csrf = request.headers[CSRF_HEADER];
      if (typeof csrf !== 'string' || !sameSecret(csrf, session.csrf)) {
        throw new AppError('FORBIDDEN', `logout needs the session's ${CSRF_HEADER} header`);
      }
      await options.sessions.delete(session.id);
      log.info({ user: session.name }, 'console logout');
      options.onAudit?.({ action: 'console.logout', who: session.name, from: request.ip });
    }
    return reply
      .header(
        'set-cookie',
        stringifySetCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0 }),
      )
      .send({ loggedOut: true });
  });

  app.get('/console/session', async (request) => {
    const session = await who(request);
    if (!session) throw new AppError('UNAUTHORIZED', 'no console session: log in with a token');
    return { name: session.name, role: session.role, csrf: session.csrf, open };
  });

  if (!existsSync(options.assetsDir)) {
    log.warn({ assetsDir: options.assetsDir }, 'console not built: npm run build makes it');
  }
  void app.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const file = request.url.split('?', 1)[0]!.slice('/console/'.length);
      if (PUBLIC_FILES.has(file) || (await who(request))) return undefined;
      // A page asked for without a session is sent to the login page; its answer is still a 401.
      return reply
        .code(401)
        .type('text/html')
        .send(
          '<!doctype html><meta http-equiv="refresh" content="0; url=/console/login.html"><a href="/console/login.html">Log in</a>',
        );
    });
    await scope.register(fastifyStatic, {
      root: options.assetsDir,
      prefix: '/console/',
      decorateReply: false,
      index: ['index.html'],
      redirect: true,
      // The files change with each build: a browser asks again rather than running an old console.
      cacheControl: false,
      setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
    });
  });
}
