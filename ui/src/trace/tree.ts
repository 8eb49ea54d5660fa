// Trace tree construction in O(n) (plus sorting siblings), flattening of the visible nodes.

export interface TraceSpan {
  spanId: string;
  parentId: string | null;
  name: string;
  spanKind: string;
  statusCode: string;
  startOffsetMs: number;
  latencyMs: number;
  model: string | null;
  tokenTotal: number | null;
}

export interface TraceTreeModel {
  spans: TraceSpan[];
  /** children of node i (indices), sorted by startOffsetMs; undefined when a leaf */
  children: (number[] | undefined)[];
  roots: number[];
  parent: Int32Array; // tree parent index, -1 for roots
  depth: Int32Array;
  subtree: Int32Array; // descendants count (excluding self)
  indexById: Map<string, number>;
  /** trace window for the waterfall */
  minOffset: number;
  duration: number;
  /** indices of nodes with children */
  parents: number[];
}

export function buildTree(spans: TraceSpan[]): TraceTreeModel {
  const n = spans.length;
  const indexById = new Map<string, number>();
  for (let i = 0; i < n; i++) indexById.set(spans[i].spanId, i);
  const children: (number[] | undefined)[] = new Array(n);
  const parent = new Int32Array(n).fill(-1);
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = spans[i].parentId;
    const pi = p ? indexById.get(p) : undefined;
    if (pi === undefined || pi === i) {
      roots.push(i);
    } else {
      parent[i] = pi;
      (children[pi] ??= []).push(i);
    }
  }
  const byStart = (a: number, b: number) =>
    spans[a].startOffsetMs - spans[b].startOffsetMs || (a < b ? -1 : a > b ? 1 : 0);
  const parents: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = children[i];
    if (c) {
      if (c.length > 1) c.sort(byStart);
      parents.push(i);
    }
  }
  roots.sort(byStart);

  // depth + pre-order via an explicit stack (deep chains must not overflow the call stack)
  const depth = new Int32Array(n);
  const visited = new Uint8Array(n);
  const order: number[] = [];
  const walk = (r: number) => {
    const stack = [r];
    depth[r] = 0;
    while (stack.length) {
      const i = stack.pop()!;
      if (visited[i]) continue;
      visited[i] = 1;
      order.push(i);
      const c = children[i];
      if (c) {
        for (let k = c.length - 1; k >= 0; k--) {
          const ch = c[k];
          if (!visited[ch]) {
            depth[ch] = depth[i] + 1;
            stack.push(ch);
          }
        }
      }
    }
  };
  for (const r of roots) walk(r);
  // spans in a parent cycle are unreachable from any root: promote one of each cycle to a root
  if (order.length < n) {
    for (let i = 0; i < n; i++) {
      if (!visited[i]) {
        const p = parent[i];
        if (p >= 0 && children[p]) {
          const c = children[p]!.filter((x) => x !== i);
          children[p] = c.length ? c : undefined;
        }
        parent[i] = -1;
        roots.push(i);
        walk(i);
      }
    }
    roots.sort(byStart);
  }
  const subtree = new Int32Array(n);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k];
    const p = parent[i];
    if (p >= 0) subtree[p] += subtree[i] + 1;
  }

  let minOffset = Infinity;
  let maxEnd = -Infinity;
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    if (s.startOffsetMs < minOffset) minOffset = s.startOffsetMs;
    const e = s.startOffsetMs + Math.max(0, s.latencyMs);
    if (e > maxEnd) maxEnd = e;
  }
  if (!Number.isFinite(minOffset)) minOffset = 0;
  const duration = Number.isFinite(maxEnd) ? Math.max(maxEnd - minOffset, 0) : 0;
  return { spans, children, roots, parent, depth, subtree, indexById, minOffset, duration, parents };
}

/** Pre-order indices of the nodes whose ancestors are all expanded. */
export function flattenVisible(t: TraceTreeModel, collapsed: ReadonlySet<string>): number[] {
  const out: number[] = [];
  const stack: number[] = [];
  for (let k = t.roots.length - 1; k >= 0; k--) stack.push(t.roots[k]);
  while (stack.length) {
    const i = stack.pop()!;
    out.push(i);
    const c = t.children[i];
    if (c && !collapsed.has(t.spans[i].spanId)) {
      for (let k = c.length - 1; k >= 0; k--) stack.push(c[k]);
    }
  }
  return out;
}

/** The nearest ancestor-or-self of `i` that is visible under `collapsed`. */
export function visibleAncestor(t: TraceTreeModel, i: number, collapsed: ReadonlySet<string>): number {
  let vis = i;
  let p = t.parent[i];
  while (p >= 0) {
    if (collapsed.has(t.spans[p].spanId)) vis = p;
    p = t.parent[p];
  }
  return vis;
}
