// /settings: one's own API keys (a new key is shown once); for admins also the users, each
// project's members and roles, and the audit log. Everything goes through the REST API, which
// checks every permission itself.
import { type FormEvent, useState } from 'react';
import { errorMessage, rest } from '../api';
import { useAsync } from '../components/useAsync';
import { ErrorBox } from '../components/ErrorBox';
import { Loading } from '../components/Loading';
import { formatTime } from '../format';
import { current } from '../session';
import './pages.css';

interface ApiKey { id: string; name: string; scope: string; created_at: string; expires_at: string | null }
interface User { id: string; username: string; email: string; role: string; auth_method: string }
interface Member { user_id: string; username: string; role: string }
interface AuditEntry { id: number; at: string; actor: string; action: string; target: string }
interface Project { id: string; name: string }

const ROLES = ['VIEWER', 'MEMBER', 'ADMIN'];

function ApiKeys() {
  const [reload, setReload] = useState(0);
  const keys = useAsync((signal) => rest<{ data: ApiKey[] }>('GET', '/v1/user/api_keys', undefined, { signal }), [reload]);
  const [name, setName] = useState('');
  const [scope, setScope] = useState('write');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const body = await rest<{ data: { key: string } }>('POST', '/v1/user/api_keys', { data: { name, scope } });
      setCreated(body.data.key);
      setName('');
      setReload((n) => n + 1);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const remove = async (id: string) => {
    await rest('DELETE', `/v1/user/api_keys/${encodeURIComponent(id)}`).catch((err) => setError(errorMessage(err)));
    setReload((n) => n + 1);
  };
  return (
    <section className="pg-panel" data-testid="settings-keys">
      <h2>Your API keys</h2>
      <form className="settings-form" onSubmit={(e) => void create(e)}>
        <input placeholder="Key name" value={name} onChange={(e) => setName(e.target.value)} required data-testid="key-name" />
        <select value={scope} onChange={(e) => setScope(e.target.value)} data-testid="key-scope">
          {['ingest', 'read', 'write', 'admin'].map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <button type="submit" className="btn btn-primary" data-testid="key-create">Create key</button>
      </form>
      {created && (
        <p className="settings-once" data-testid="key-once">
          Copy it now, it is not shown again: <code data-testid="key-value">{created}</code>
        </p>
      )}
      {error && <ErrorBox error={error} />}
      {keys.loading && <Loading />}
      <table className="settings-table">
        <tbody>
          {(keys.data?.data ?? []).map((k) => (
            <tr key={k.id} data-testid="key-row">
              <td>{k.name}</td>
              <td>{k.scope}</td>
              <td>{formatTime(k.created_at)}</td>
              <td>{k.expires_at ? `expires ${formatTime(k.expires_at)}` : 'no expiry'}</td>
              <td><button type="button" className="btn" onClick={() => void remove(k.id)}>Revoke</button></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Users({ onChange }: { onChange: () => void }) {
  const [reload, setReload] = useState(0);
  const users = useAsync((signal) => rest<{ data: User[] }>('GET', '/v1/users?limit=1000', undefined, { signal }), [reload]);
  const [form, setForm] = useState({ username: '', email: '', role: 'MEMBER', password: '' });
  const [error, setError] = useState<string | null>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await rest('POST', '/v1/users', { user: { ...form, auth_method: 'LOCAL' } });
      setForm({ username: '', email: '', role: 'MEMBER', password: '' });
      setError(null);
      setReload((n) => n + 1);
      onChange();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const changeRole = async (id: string, role: string) => {
    try {
      await rest('PATCH', `/v1/users/${encodeURIComponent(id)}`, { role });
      setError(null);
      onChange();
    } catch (err) {
      setError(errorMessage(err));
    }
    setReload((n) => n + 1);
  };
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  return (
    <section className="pg-panel" data-testid="settings-users">
      <h2>Users</h2>
      <form className="settings-form" onSubmit={(e) => void create(e)}>
        <input placeholder="Username" value={form.username} onChange={set('username')} required data-testid="user-username" />
        <input placeholder="Email" value={form.email} onChange={set('email')} required data-testid="user-email" />
        <select value={form.role} onChange={set('role')} data-testid="user-role">
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
        <input placeholder="Initial password" type="password" value={form.password} onChange={set('password')} required data-testid="user-password" />
        <button type="submit" className="btn btn-primary" data-testid="user-create">Add user</button>
      </form>
      {error && <ErrorBox error={error} />}
      <table className="settings-table">
        <tbody>
          {(users.data?.data ?? []).map((u) => (
            <tr key={u.id} data-testid="user-row">
              <td>{u.username}</td>
              <td>{u.email}</td>
              <td>
                <select
                  value={u.role}
                  aria-label={`Role of ${u.username}`}
                  data-testid="user-row-role"
                  onChange={(e) => void changeRole(u.id, e.target.value)}
                >
                  {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                </select>
              </td>
              <td>{u.auth_method}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ProjectAccess({ version }: { version: number }) {
  const projects = useAsync((signal) => rest<{ data: Project[] }>('GET', '/v1/projects?limit=1000', undefined, { signal }), []);
  const users = useAsync((signal) => rest<{ data: User[] }>('GET', '/v1/users?limit=1000', undefined, { signal }), [version]);
  const [project, setProject] = useState('');
  const [reload, setReload] = useState(0);
  const members = useAsync(
    (signal) =>
      project
        ? rest<{ data: Member[]; restricted: boolean }>('GET', `/v1/projects/${encodeURIComponent(project)}/members`, undefined, { signal })
        : Promise.resolve({ data: [], restricted: false }),
    [project, reload],
  );
  const [user, setUser] = useState('');
  const [role, setRole] = useState('MEMBER');
  const [error, setError] = useState<string | null>(null);
  const path = (userId: string) => `/v1/projects/${encodeURIComponent(project)}/members/${encodeURIComponent(userId)}`;
  const add = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await rest('PUT', path(user), { role });
      setError(null);
      setReload((n) => n + 1);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const remove = async (userId: string) => {
    await rest('DELETE', path(userId)).catch((err) => setError(errorMessage(err)));
    setReload((n) => n + 1);
  };
  return (
    <section className="pg-panel" data-testid="settings-projects">
      <h2>Project access</h2>
      <p className="muted">A project without members is open to every user; with members, only they (and admins) see it.</p>
      <select value={project} onChange={(e) => setProject(e.target.value)} data-testid="access-project">
        <option value="">Choose a project…</option>
        {(projects.data?.data ?? []).map((p) => <option key={p.id} value={p.name}>{p.name}</option>)}
      </select>
      {project && (
        <>
          <p data-testid="access-state">{members.data?.restricted ? 'Restricted to its members' : 'Open to every user'}</p>
          <table className="settings-table">
            <tbody>
              {(members.data?.data ?? []).map((m) => (
                <tr key={m.user_id} data-testid="member-row">
                  <td>{m.username}</td>
                  <td>{m.role}</td>
                  <td><button type="button" className="btn" onClick={() => void remove(m.user_id)}>Remove</button></td>
                </tr>
              ))}
            </tbody>
          </table>
          <form className="settings-form" onSubmit={(e) => void add(e)}>
            <select value={user} onChange={(e) => setUser(e.target.value)} required data-testid="access-user">
              <option value="">Choose a user…</option>
              {(users.data?.data ?? []).map((u) => <option key={u.id} value={u.id}>{u.username}</option>)}
            </select>
            <select value={role} onChange={(e) => setRole(e.target.value)} data-testid="access-role">
              {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
            <button type="submit" className="btn btn-primary" data-testid="access-add">Give access</button>
          </form>
        </>
      )}
      {error && <ErrorBox error={error} />}
    </section>
  );
}

function AuditLog({ version }: { version: number }) {
  const entries = useAsync((signal) => rest<{ data: AuditEntry[] }>('GET', '/v1/audit?limit=50', undefined, { signal }), [version]);
  return (
    <section className="pg-panel" data-testid="settings-audit">
      <h2>Audit log</h2>
      <table className="settings-table">
        <tbody>
          {(entries.data?.data ?? []).map((a) => (
            <tr key={a.id} data-testid="audit-row">
              <td>{formatTime(a.at)}</td>
              <td>{a.actor}</td>
              <td>{a.action}</td>
              <td>{a.target}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export default function SettingsPage(_props: { params: Record<string, string> }) {
  const [version, setVersion] = useState(0);
  const admin = document.body.dataset.canAdmin !== 'false';
  if (!current?.auth_enabled) {
    return (
      <div className="page pg-page" data-testid="settings-page">
        <div className="pg-header">
          <h1>Settings</h1>
        </div>
        <p className="muted">
          Authentication is off: this server has no accounts or keys. Start it with EMBER_ENABLE_AUTH=true to
          manage users, project access and API keys here.
        </p>
      </div>
    );
  }
  return (
    <div className="page pg-page" data-testid="settings-page">
      <div className="pg-header">
        <h1>Settings</h1>
      </div>
      {current.user && <ApiKeys />}
      {admin && (
        <>
          <Users onChange={() => setVersion((n) => n + 1)} />
          <ProjectAccess version={version} />
          <AuditLog version={version} />
        </>
      )}
    </div>
  );
}
