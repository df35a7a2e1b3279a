import { render } from 'preact';
import { useState } from 'preact/hooks';

function Login() {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    const answer = await fetch('/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ token }),
    });
    setBusy(false);
    if (answer.ok) {
      location.assign('/console/');
      return;
    }
    const body = (await answer.json().catch(() => ({}))) as { message?: string };
    setError(
      answer.status === 401 ? 'That token is not one of api.tokens.' : (body.message ?? `${answer.status}`),
    );
  };
  return (
    <main class="login">
      <h1>recorder</h1>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
          autofocus
        />
        <button type="submit" disabled={busy || token === ''}>
          Log in
        </button>
        <p class="error" role="alert">
          {error}
        </p>
      </form>
      <p class="hint">
        A token of the recorder’s config (api.tokens or api.adminToken). Viewers may watch; admins may also
        change.
      </p>
    </main>
  );
}

render(<Login />, document.getElementById('root')!);
