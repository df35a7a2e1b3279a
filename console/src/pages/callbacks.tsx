import { useState } from 'preact/hooks';
import { api, type Session } from '../api.js';
import { when } from '../format.js';
import { useLoad } from '../hooks.js';

interface CallbackView {
  id: string;
  url: string;
  eventType: number | string | null;
  attempts: number;
  lastError: string | null;
  createdAt: string;
}

function Table({
  rows,
  action,
}: {
  rows: CallbackView[];
  action?: (row: CallbackView) => preact.ComponentChild;
}) {
  if (rows.length === 0) return <p class="empty">None.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">To</th>
            <th scope="col" class="num">
              Attempts
            </th>
            <th scope="col">Last error</th>
            <th scope="col">Queued</th>
            {action && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} data-callback-id={row.id}>
              <td>{row.eventType ?? '?'}</td>
              <td class="url">{row.url}</td>
              <td class="num">{row.attempts}</td>
              <td>{row.lastError ?? ''}</td>
              <td>{when(row.createdAt)}</td>
              {action && <td>{action(row)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Callbacks({ session }: { session: Session }) {
  const pending = useLoad(() => api<{ pending: CallbackView[] }>('/api/callbacks/pending'), []);
  const dead = useLoad(() => api<{ dead: CallbackView[] }>('/api/callbacks/dead'), []);
  const [message, setMessage] = useState('');
  const redeliver = async (row: CallbackView) => {
    try {
      await api(`/api/callbacks/dead/${encodeURIComponent(row.id)}/redeliver`, { method: 'POST', body: {} });
      setMessage(`Event ${row.eventType} to ${row.url} is queued again.`);
      dead.reload();
      pending.reload();
    } catch (err) {
      setMessage(`Not redelivered: ${(err as Error).message}`);
    }
  };
  return (
    <section aria-labelledby="cb-title">
      <h2 id="cb-title">Callbacks</h2>
      <p class="message" role="status">
        {message}
      </p>
      <h3>Being retried</h3>
      {pending.error && <p class="error">{pending.error}</p>}
      {pending.value && <Table rows={pending.value.pending} />}
      <h3>Dead letters</h3>
      <p class="hint">
        Callbacks whose every attempt failed. Redeliver sends one again, once its receiver is back.
      </p>
      {dead.error && <p class="error">{dead.error}</p>}
      {dead.value && (
        <Table
          rows={dead.value.dead}
          {...(session.role === 'admin'
            ? {
                action: (row: CallbackView) => (
                  <button type="button" onClick={() => void redeliver(row)}>
                    Redeliver
                  </button>
                ),
              }
            : {})}
        />
      )}
    </section>
  );
}
