import { api, type RecordingPage } from '../api.js';
import { bytes, clock, when } from '../format.js';
import { useFields, useLoad } from '../hooks.js';

const FIELDS = ['app', 'q', 'format', 'from', 'to', 'sort', 'order'] as const;
const DEFAULTS: Partial<Record<(typeof FIELDS)[number], string>> = {
  app: 'live',
  sort: 'start',
  order: 'desc',
};

/** The search form's fields as the page's query gives them. */
function formFields(query: URLSearchParams): Record<string, string> {
  return Object.fromEntries(FIELDS.map((name) => [name, query.get(name) || DEFAULTS[name] || '']));
}

/** The /api/recordings query of the page's own (the name prefix is searched under its app). */
function listQuery(query: URLSearchParams): string {
  const out = new URLSearchParams();
  const app = query.get('app') || 'live';
  out.set('prefix', `${app}/${query.get('q') ?? ''}`);
  for (const name of ['format', 'sort', 'order', 'cursor'] as const) {
    const value = query.get(name);
    if (value) out.set(name, value);
  }
  for (const name of ['from', 'to'] as const) {
    const value = query.get(name);
    // datetime-local is the browser's zone; the API takes ISO with a zone.
    if (value) out.set(name, new Date(value).toISOString());
  }
  out.set('limit', '50');
  return out.toString();
}

function go(query: URLSearchParams) {
  location.hash = `#/recordings?${query.toString()}`;
}

export function Recordings({ query }: { query: URLSearchParams }) {
  const key = query.toString();
  const page = useLoad(() => api<RecordingPage>(`/api/recordings?${listQuery(query)}`), [key]);
  const { bind } = useFields(() => formFields(query), key);
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const next = new URLSearchParams();
    for (const name of FIELDS) {
      const value = String(form.get(name) ?? '');
      if (value) next.set(name, value);
    }
    go(next);
  };
  const nextPage = () => {
    const next = new URLSearchParams(query);
    next.set('cursor', page.value!.next!);
    go(next);
  };
  const firstPage = () => {
    const next = new URLSearchParams(query);
    next.delete('cursor');
    go(next);
  };
  return (
    <section aria-labelledby="rec-title">
      <h2 id="rec-title">Recordings</h2>
      <form class="filters" onSubmit={submit} role="search">
        <label>
          App
          <input {...bind('app')} size={8} />
        </label>
        <label class="grow">
          Name starts with
          <input {...bind('q')} type="search" placeholder="1400000123_1001_rexchang_main" />
        </label>
        <label>
          Format
          <select {...bind('format')}>
            <option value="">any</option>
            <option value="hls">HLS</option>
            <option value="mp4">MP4</option>
            <option value="flv">FLV</option>
            <option value="aac">AAC</option>
          </select>
        </label>
        <label>
          From
          <input {...bind('from')} type="datetime-local" step="1" />
        </label>
        <label>
          To
          <input {...bind('to')} type="datetime-local" step="1" />
        </label>
        <label>
          Sort
          <select {...bind('sort')}>
            <option value="start">start</option>
            <option value="duration">duration</option>
            <option value="size">size</option>
          </select>
        </label>
        <label>
          Order
          <select {...bind('order')}>
            <option value="desc">descending</option>
            <option value="asc">ascending</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {page.error && (
        <p class="error" role="alert">
          {page.error}
        </p>
      )}
      <div class="table-wrap" aria-busy={page.loading}>
        <table class="recordings">
          <thead>
            <tr>
              <th scope="col" class="cover-cell">
                <span class="visually-hidden">Cover</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">Stream</th>
              <th scope="col">Format</th>
              <th scope="col">Start</th>
              <th scope="col" class="num">
                Duration
              </th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">Expires</th>
            </tr>
          </thead>
          <tbody>
            {page.value?.recordings.map((r) => (
              <tr key={r.fileId} data-file-id={r.fileId}>
                <td class="cover-cell">
                  {r.coverUrl ? (
                    <img class="cover" src={r.coverUrl} width={80} height={45} loading="lazy" alt="" />
                  ) : (
                    <span class="cover none" />
                  )}
                </td>
                <td class="name">
                  <a href={`#/play/${encodeURIComponent(r.fileId)}`}>{r.name}</a>
                </td>
                <td>{r.streamId}</td>
                <td>{r.format}</td>
                <td>{when(r.startTime)}</td>
                <td class="num">{clock(r.duration)}</td>
                <td class="num">{bytes(r.size)}</td>
                <td>{r.expiresAt ? when(r.expiresAt) : 'never'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.value && page.value.recordings.length === 0 && <p class="empty">No recording matches.</p>}
      </div>
      <p class="pager">
        {query.get('cursor') && (
          <button type="button" class="quiet" onClick={firstPage}>
            First page
          </button>
        )}
        {page.value?.next && (
          <button type="button" onClick={nextPage}>
            Next page
          </button>
        )}
      </p>
    </section>
  );
}
