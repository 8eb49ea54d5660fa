// /login: sign in with a username (or email) and password, or with each configured identity
// provider; shows why a sign-in was refused (`?error=`), and goes back to `?returnUrl=` after.
import { type FormEvent, useEffect, useState } from 'react';
import { url } from '../api';
import { useSearch } from '../router';
import './pages.css';

interface Provider {
  name: string;
  display_name: string;
  auto_login: boolean;
  login_url: string;
}

/** Only a path on this server: never send the browser elsewhere after signing in. */
function safeReturn(raw: string | null): string {
  if (raw && raw.startsWith('/') && !raw.startsWith('//') && !raw.includes('\\')) return raw;
  return url('/');
}

export default function LoginPage(_props: { params: Record<string, string> }) {
  const search = useSearch();
  const returnUrl = safeReturn(search.get('returnUrl'));
  const [providers, setProviders] = useState<Provider[]>([]);
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(search.get('error'));
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    fetch(url('/auth/providers'), { headers: { accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : { data: [] }))
      .then((body: { data: Provider[] }) => setProviders(body.data ?? []))
      .catch(() => setProviders([]));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ email: login, password }),
    }).catch(() => null);
    setBusy(false);
    if (res && res.status === 204) {
      window.location.assign(returnUrl);
      return;
    }
    setError(res?.status === 429 ? 'Too many failed sign-ins; try again later.' : 'Wrong username, email or password.');
  };

  const providerHref = (p: Provider) => `${p.login_url}?returnUrl=${encodeURIComponent(returnUrl)}`;

  return (
    <div className="login-page" data-testid="login-page">
      <div className="login-card">
        <h1>Sign in to Ember</h1>
        {error && (
          <div className="login-error" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <form onSubmit={submit} className="login-form">
          <label>
            Username or email
            <input
              data-testid="login-username"
              autoComplete="username"
              value={login}
              onChange={(e) => setLogin(e.target.value)}
              required
            />
          </label>
          <label>
            Password
            <input
              data-testid="login-password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </label>
          <button type="submit" className="btn btn-primary" data-testid="login-submit" disabled={busy}>
            Sign in
          </button>
        </form>
        {providers.length > 0 && (
          <div className="login-providers">
            {providers.map((p) => (
              <a key={p.name} className="btn" href={providerHref(p)} data-testid={`login-provider-${p.name}`}>
                Sign in with {p.display_name}
              </a>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}
