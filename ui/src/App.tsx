import { useEffect, useState } from 'react';
import { version } from './api';
import { applyRole, loadSession, signedIn, signOut, toLogin, type SessionInfo } from './session';
import { Link, Routes, useLocation, type Route } from './router';
import ProjectsPage from './pages/Projects';
import ProjectPage from './pages/Project';
import SessionsPage from './pages/Sessions';
import TracePage from './pages/Trace';
import DatasetsPage from './pages/Datasets';
import DatasetPage from './pages/Dataset';
import ExperimentPage from './pages/Experiment';
import ComparePage from './pages/Compare';
import PluginsPage from './pages/Plugins';
import PromptsPage from './pages/Prompts';
import PlaygroundPage from './pages/Playground';
import LoginPage from './pages/Login';
import SettingsPage from './pages/Settings';
import { Empty } from './components/misc';

const routes: Route[] = [
  { path: '/', component: ProjectsPage },
  { path: '/projects', component: ProjectsPage },
  { path: '/projects/:projectId', component: ProjectPage },
  { path: '/projects/:projectId/sessions', component: SessionsPage },
  { path: '/projects/:projectId/traces/:traceId', component: TracePage },
  { path: '/datasets', component: DatasetsPage },
  { path: '/datasets/:datasetId', component: DatasetPage },
  { path: '/experiments/:experimentId', component: ExperimentPage },
  { path: '/compare', component: ComparePage },
  { path: '/plugins', component: PluginsPage },
  { path: '/prompts', component: PromptsPage },
  { path: '/playground', component: PlaygroundPage },
  { path: '/settings', component: SettingsPage },
];

function NotFound() {
  return (
    <div className="page">
      <Empty title="Page not found">
        <Link to="/">Back to projects</Link>
      </Empty>
    </div>
  );
}

interface NavItem {
  to: string;
  label: string;
  testId: string;
  icon: string;
  match: (p: string) => boolean;
}

const NAV: NavItem[] = [
  {
    to: '/', label: 'Projects', testId: 'nav-projects', icon: 'M3 4h7v7H3zM14 4h7v7h-7zM3 15h7v5H3zM14 15h7v5h-7z',
    match: (p) => p === '/' || p.startsWith('/projects'),
  },
  {
    to: '/datasets', label: 'Datasets', testId: 'nav-datasets', icon: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zm0 0v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
    match: (p) => p.startsWith('/datasets') || p.startsWith('/experiments') || p.startsWith('/compare'),
  },
  {
    to: '/plugins', label: 'Plugins', testId: 'nav-plugins', icon: 'M9 3v4M15 3v4M6 7h12v5a6 6 0 0 1-12 0zM12 18v3',
    match: (p) => p.startsWith('/plugins'),
  },
  {
    to: '/prompts', label: 'Prompts', testId: 'nav-prompts', icon: 'M4 5h16v11H8l-4 4zM8 9h8M8 12h5',
    match: (p) => p.startsWith('/prompts'),
  },
  {
    to: '/playground', label: 'Playground', testId: 'nav-playground', icon: 'M7 4l12 8-12 8z',
    match: (p) => p.startsWith('/playground'),
  },
  {
    to: '/settings', label: 'Settings', testId: 'nav-settings', icon: 'M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM4 12h2M18 12h2M12 4v2M12 18v2',
    match: (p) => p.startsWith('/settings'),
  },
];

function Sidebar({ session }: { session: SessionInfo | null }) {
  const { path } = useLocation();
  return (
    <nav className="sidebar" aria-label="Main">
      <Link to="/" className="brand" aria-label="Ember home">
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path
            d="M12 2c1 3.5 5 5.5 5 10.5A5 5 0 0 1 7 12.5c0-2 1-3.5 2-4.5 0 2 1 3 2 3 0-3-1-6 1-9z"
            fill="currentColor"
          />
        </svg>
        <span>Ember</span>
      </Link>
      <ul className="nav-list">
        {NAV.map((n) => (
          <li key={n.testId}>
            <Link
              to={n.to}
              data-testid={n.testId}
              className={'nav-item' + (n.match(path) ? ' active' : '')}
              aria-current={n.match(path) ? 'page' : undefined}
            >
              <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" className="nav-icon">
                <path d={n.icon} fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinejoin="round" strokeLinecap="round" />
              </svg>
              <span>{n.label}</span>
            </Link>
          </li>
        ))}
      </ul>
      <div className="sidebar-foot">
        {session?.user && (
          <div className="sidebar-user">
            <span data-testid="signed-in-user" title={session.user.role}>
              {session.user.username}
            </span>
            <button type="button" className="link-button" data-testid="sign-out" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        )}
        {version ? `v${version}` : ''}
      </div>
    </nav>
  );
}

export default function App() {
  const { path } = useLocation();
  const [session, setSession] = useState<SessionInfo | null>(null);
  useEffect(() => {
    loadSession()
      .then((info) => {
        if (!signedIn(info) && path !== '/login') return toLogin();
        applyRole(info);
        setSession(info);
      })
      .catch(() => setSession({ auth_enabled: false, user: null }));
    // The session is asked once per page load; a 401 later goes through `api.ts`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  if (path === '/login') return <LoginPage params={{}} />;
  if (session === null) return null;
  return (
    <div className="app">
      <Sidebar session={session} />
      <main className="main">
        <Routes routes={routes} fallback={NotFound} />
      </main>
    </div>
  );
}
