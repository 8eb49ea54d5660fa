// Server access for the SPA: GraphQL for reads (and annotations), REST v1 for writes.
// Every URL starts with the server's root path (window.__EMBER__.rootPath, "" by default).

declare global {
  interface Window {
    __EMBER__?: { rootPath?: string; version?: string };
  }
}

function readRootPath(): string {
  const raw = (typeof window !== 'undefined' && window.__EMBER__?.rootPath) || '';
  // Normalise: leading slash, no trailing slash, "" for the server root.
  let p = raw.trim();
  if (p === '/' || p === '') return '';
  if (!p.startsWith('/')) p = '/' + p;
  return p.replace(/\/+$/, '');
}

/** The server's root path ("" or e.g. "/ember"); every URL the SPA builds starts with it. */
export const rootPath: string = readRootPath();
/** The server's version, shown in the sidebar. */
export const version: string = (typeof window !== 'undefined' && window.__EMBER__?.version) || '';

/** rootPath + path; `path` should start with "/". */
export function url(path: string): string {
  if (/^[a-z]+:\/\//i.test(path)) return path;
  return rootPath + (path.startsWith('/') ? path : '/' + path);
}

/** A GraphQL response that carried `errors`; the message joins theirs. */
export class GraphQLError extends Error {
  errors: unknown[];
  constructor(message: string, errors: unknown[] = []) {
    super(message);
    this.name = 'GraphQLError';
    this.errors = errors;
  }
}

/** A non-2xx REST response; the message is the server's error text. */
export class ApiError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * Pull a readable message out of an error body: the REST `{"error": {"code", "message"}}`
 * envelope, other JSON `{error|detail|message}` shapes, or plain text.
 */
function errorText(status: number, statusText: string, body: string): string {
  const text = body.trim();
  if (text) {
    try {
      const j = JSON.parse(text);
      if (typeof j === 'string') return j;
      if (j && typeof j === 'object') {
        for (const k of ['error', 'detail', 'message', 'msg']) {
          const v = (j as Record<string, unknown>)[k];
          if (typeof v === 'string' && v) return v;
          if (v && typeof v === 'object') {
            const inner = (v as { message?: unknown }).message;
            return typeof inner === 'string' && inner ? inner : JSON.stringify(v);
          }
        }
        if (Array.isArray((j as { errors?: unknown }).errors)) {
          return ((j as { errors: { message?: string }[] }).errors)
            .map((e) => e?.message ?? String(e))
            .join('; ');
        }
      }
    } catch {
      /* plain text */
    }
    return text.length > 2000 ? text.slice(0, 2000) + '…' : text;
  }
  return `${status} ${statusText || 'error'}`;
}

async function parseBody(res: Response): Promise<unknown> {
  if (res.status === 204) return undefined;
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * fetch() for the API. A 401 (the session expired mid-use) asks `/auth/session`, which refreshes
 * the session when the refresh cookie still works: then the request is sent once more; otherwise
 * the browser goes to the login page, to come back here after signing in.
 */
async function send(path: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url(path), init);
  if (res.status !== 401) return res;
  const session = await fetch(url('/auth/session'), { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  if (session && (session.user || session.role)) return fetch(url(path), init);
  const here = window.location.pathname + window.location.search;
  window.location.replace(url('/login') + '?returnUrl=' + encodeURIComponent(here));
  return res;
}

/** Per-request options: `signal` aborts the fetch. */
export interface RequestOptions {
  signal?: AbortSignal;
}

/** POST {root}/graphql; throws GraphQLError when the response carries `errors`. */
export async function gql<T>(
  query: string,
  variables?: Record<string, unknown>,
  opts: RequestOptions = {},
): Promise<T> {
  const res = await send('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables: variables ?? {} }),
    signal: opts.signal,
  });
  const text = await res.text();
  let json: { data?: T; errors?: { message?: string }[] } | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (json && Array.isArray(json.errors) && json.errors.length > 0) {
    const msg = json.errors.map((e) => e?.message ?? 'unknown error').join('; ');
    throw new GraphQLError(msg, json.errors);
  }
  if (!res.ok) throw new ApiError(res.status, errorText(res.status, res.statusText, text));
  if (!json || json.data === undefined || json.data === null) {
    throw new GraphQLError('empty GraphQL response');
  }
  return json.data;
}

/** JSON in/out against the REST API; throws ApiError(status, message) with the server's text. */
export async function rest<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await send(path, { method, headers, body: payload, signal: opts.signal });
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new ApiError(res.status, errorText(res.status, res.statusText, text));
  }
  return (await parseBody(res)) as T;
}

/** Multipart POST (plugin upload and the like). */
export async function upload<T>(path: string, form: FormData, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, {
    method: 'POST',
    headers: { accept: 'application/json' },
    body: form,
    signal: opts.signal,
  });
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new ApiError(res.status, errorText(res.status, res.statusText, text));
  }
  return (await parseBody(res)) as T;
}

/** Whether `e` is the rejection of an aborted fetch (a superseded or unmounted load). */
export function isAbort(e: unknown): boolean {
  return (
    (e instanceof DOMException && e.name === 'AbortError') ||
    (e instanceof Error && e.name === 'AbortError')
  );
}

/** The text to show for anything thrown (ApiError, GraphQLError, Error, string, …). */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
