import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export { consoleSessions, registerConsoleRoutes, SESSION_COOKIE } from './console-routes.js';
export { MemorySessionStore, type ConsoleSession, type SessionStore } from './sessions.js';

/** The built console: dist/console, beside dist/src when built, or under dist/ when run from the sources. */
export function consoleAssetsDir(): string {
  const built = fileURLToPath(new URL('../../console/', import.meta.url));
  const fromSources = fileURLToPath(new URL('../../dist/console/', import.meta.url));
  // From the sources, ../../console/ is the console's own sources (no bundle in it).
  return existsSync(`${built}app.js`) || !existsSync(fromSources) ? built : fromSources;
}
