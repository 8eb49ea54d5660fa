// A small History API router under rootPath.
import { useSyncExternalStore, type AnchorHTMLAttributes, type ComponentType, type MouseEvent } from 'react';
import { rootPath, url } from './api';

const listeners = new Set<() => void>();

function notify() {
  for (const l of Array.from(listeners)) l();
}

function subscribe(cb: () => void): () => void {
  listeners.add(cb);
  window.addEventListener('popstate', cb);
  return () => {
    listeners.delete(cb);
    window.removeEventListener('popstate', cb);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

/** The path under rootPath ("/" at the root). */
export function currentPath(): string {
  let p = window.location.pathname;
  if (rootPath && (p === rootPath || p.startsWith(rootPath + '/'))) p = p.slice(rootPath.length);
  if (!p) p = '/';
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export interface NavigateOptions {
  replace?: boolean;
  /** keep the window's scroll position (default: scroll to top on a new path) */
  keepScroll?: boolean;
}

/** Navigate to `to` (relative to rootPath; may carry ?search and #hash). */
export function navigate(to: string, opts: NavigateOptions = {}): void {
  const target = url(to);
  const before = window.location.pathname;
  if (target === window.location.pathname + window.location.search + window.location.hash) return;
  if (opts.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  if (!opts.keepScroll && window.location.pathname !== before) window.scrollTo(0, 0);
  notify();
}

/** Replace the query string of the current path (no new history entry by default). */
export function setSearch(params: URLSearchParams, opts: { push?: boolean } = {}): void {
  const qs = params.toString();
  const to = currentPath() + (qs ? '?' + qs : '');
  navigate(to, { replace: !opts.push, keepScroll: true });
}

export function useLocation(): { path: string; search: string } {
  const snap = useSyncExternalStore(subscribe, snapshot, snapshot);
  const q = snap.indexOf('?');
  return { path: currentPath(), search: q >= 0 ? snap.slice(q) : '' };
}

export function useSearch(): URLSearchParams {
  const { search } = useLocation();
  return new URLSearchParams(search);
}

export type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & {
  to: string;
  replace?: boolean;
};

/** `<Link to="/experiments/abc">` — `to` relative to rootPath; extra props go to the <a>. */
export function Link({ to, replace, onClick, target, children, ...rest }: LinkProps) {
  const external = /^[a-z]+:\/\//i.test(to);
  const href = external ? to : url(to);
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || external) return;
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (target && target !== '_self') return;
    e.preventDefault();
    navigate(to, { replace });
  };
  return (
    <a href={href} onClick={handle} target={target} {...rest}>
      {children}
    </a>
  );
}

export type PageComponent = ComponentType<{ params: Record<string, string> }>;
export interface Route {
  path: string;
  component: PageComponent;
}

/** Match "/projects/:projectId" against a path; returns the params or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i];
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(xs[i]);
      } catch {
        params[p.slice(1)] = xs[i];
      }
    } else if (p !== xs[i]) {
      return null;
    }
  }
  return params;
}

export function matchRoutes(routes: Route[], path: string): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) return { route, params };
  }
  return null;
}

/** Renders the first matching route's component, or `fallback`. */
export function Routes({ routes, fallback: Fallback }: { routes: Route[]; fallback: ComponentType }) {
  const { path } = useLocation();
  const m = matchRoutes(routes, path);
  if (!m) return <Fallback />;
  const C = m.route.component;
  // key by route pattern + params so a param change remounts the page with fresh state
  return <C key={m.route.path + JSON.stringify(m.params)} params={m.params} />;
}
