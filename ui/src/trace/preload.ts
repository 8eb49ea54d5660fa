// The trace query, and an inline script (injected into index.html at build time by
// vite.config.ts) that starts it while the bundle is still loading: on a deep link to a trace the
// server's answer is usually the slowest part of showing the tree.

export const TRACE_QUERY = `query Trace($traceId: String!) {
  trace(traceId: $traceId) {
    traceId projectId projectName sessionId startTime endTime latencyMs tokenTotal spanCount
    spans { spanId parentId name spanKind statusCode startOffsetMs latencyMs model tokenTotal }
    annotations { id name annotatorKind label score explanation createdAt }
  }
}`;

export interface TracePreload {
  traceId: string;
  query: string;
  /** the GraphQL response body, or null when the request failed */
  promise: Promise<{ data?: unknown; errors?: { message?: string }[] } | null>;
}

declare global {
  interface Window {
    __EMBER_PRELOAD__?: TracePreload;
  }
}

/** Takes the preloaded trace response when it is for `traceId` (once). */
export function takeTracePreload(traceId: string): TracePreload['promise'] | null {
  const p = window.__EMBER_PRELOAD__;
  if (!p || p.traceId !== traceId || p.query !== TRACE_QUERY) return null;
  window.__EMBER_PRELOAD__ = undefined;
  return p.promise;
}

/** Source of the inline classic script; runs before the module bundle, after window.__EMBER__. */
export function preloadScript(): string {
  const body = `(function(){try{
var root=((window.__EMBER__||{}).rootPath||'').replace(/\\/+$/,'');
var p=location.pathname;
if(root&&p.indexOf(root)===0)p=p.slice(root.length);
var m=/^\\/projects\\/[^/]+\\/traces\\/([^/]+)\\/?$/.exec(p);
if(!m||!window.fetch)return;
var id=decodeURIComponent(m[1]);var q=${JSON.stringify(TRACE_QUERY)};
window.__EMBER_PRELOAD__={traceId:id,query:q,promise:fetch(root+'/graphql',{method:'POST',
headers:{'content-type':'application/json',accept:'application/json'},
body:JSON.stringify({query:q,variables:{traceId:id}})}).then(function(r){return r.ok?r.json():null}).catch(function(){return null})};
}catch(e){}})();`;
  return body;
}
