// Who is signed in, asked once at start (`GET {root}/auth/session`, which never answers 401 and
// refreshes an expired access token with the refresh cookie), and the way to the login page.
import { url } from './api';

export interface SessionUser {
  username: string;
  email: string;
  role: string;
  auth_method: string;
}

export interface SessionInfo {
  auth_enabled: boolean;
  user: SessionUser | null;
  /** The caller's role (also for a system key, which has no user). */
  role?: string;
}

/** The session the page was loaded with (set by `applyRole`). */
export let current: SessionInfo | null = null;

/** The current session; authentication off reads as `auth_enabled: false`. */
export async function loadSession(): Promise<SessionInfo> {
  const res = await fetch(url('/auth/session'), { headers: { accept: 'application/json' } });
  if (!res.ok) return { auth_enabled: false, user: null };
  return (await res.json()) as SessionInfo;
}

/** Whether `info` says the caller may use the app. */
export function signedIn(info: SessionInfo): boolean {
  return !info.auth_enabled || info.user !== null || Boolean(info.role);
}

/** Sends the browser to the login page, to come back to where it is now. */
export function toLogin(): void {
  const here = window.location.pathname + window.location.search;
  const target = url('/login') + '?returnUrl=' + encodeURIComponent(here);
  if (window.location.pathname !== url('/login')) window.location.replace(target);
}

/** Ends the session (server-side too) and goes to the login page. */
export async function signOut(): Promise<void> {
  await fetch(url('/auth/logout'), { method: 'POST' }).catch(() => undefined);
  window.location.replace(url('/login'));
}

/**
 * Marks the page with what the caller may do, so that write controls (`data-write`) are hidden
 * from viewers and admin controls (`data-admin`) from everyone but admins. The server refuses
 * those writes anyway; this only keeps the page from offering them.
 */
export function applyRole(info: SessionInfo): void {
  current = info;
  const role = info.user?.role ?? info.role ?? 'ADMIN';
  const known = info.auth_enabled ? role.toUpperCase() : 'ADMIN';
  document.body.dataset.canWrite = String(known === 'ADMIN' || known === 'MEMBER');
  document.body.dataset.canAdmin = String(known === 'ADMIN');
}
