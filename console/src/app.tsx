import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { loadSession, logout, type Session } from './api.js';
import { Callbacks } from './pages/callbacks.js';
import { Live } from './pages/live.js';
import { Player } from './pages/player.js';
import { Recordings } from './pages/recordings.js';
import { Setup } from './pages/setup.js';

/** The page the hash names: #/live, #/recordings?…, #/play/<fileId>, #/callbacks, #/setup. */
function useRoute(): { page: string; arg: string; query: URLSearchParams } {
  const read = () => {
    const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?', 2);
    const [page = 'live', ...rest] = path.split('/');
    return {
      page: page || 'live',
      arg: decodeURIComponent(rest.join('/')),
      query: new URLSearchParams(search),
    };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

const PAGES = [
  ['live', 'Live'],
  ['recordings', 'Recordings'],
  ['callbacks', 'Callbacks'],
  ['setup', 'Templates and tasks'],
] as const;

function Shell({ session }: { session: Session }) {
  const route = useRoute();
  const current = route.page === 'play' ? 'recordings' : route.page;
  return (
    <>
      <header class="bar">
        <a class="brand" href="#/live">
          recorder
        </a>
        <nav aria-label="pages">
          {PAGES.map(([page, label]) => (
            <a href={`#/${page}`} aria-current={current === page ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who" title={`signed in as ${session.name}`}>
          {session.name} · {session.role}
        </span>
        {!session.open && (
          <button type="button" class="quiet" onClick={() => void logout()}>
            Log out
          </button>
        )}
      </header>
      <main id="page">
        {route.page === 'live' && <Live />}
        {route.page === 'recordings' && <Recordings query={route.query} />}
        {route.page === 'play' && <Player fileId={route.arg} session={session} />}
        {route.page === 'callbacks' && <Callbacks session={session} />}
        {route.page === 'setup' && <Setup />}
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    loadSession().then(
      (s) => (s ? setSession(s) : location.assign('/console/login.html')),
      () => setSession(null),
    );
  }, []);
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) return <p class="error">The recorder did not answer.</p>;
  return <Shell session={session} />;
}

render(<App />, document.getElementById('root')!);
