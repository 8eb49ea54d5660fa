// Helpers for reading OpenInference attributes, which may arrive nested ({"llm": {"input_messages": …}}),
// flat ({"llm.input_messages.0.message.role": …}) or in between; lists may be arrays or objects keyed "0","1",….

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mergeInto(target: Obj, key: string, value: unknown) {
  const parts = key.split('.');
  let cur: Obj = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i];
    let next = cur[p];
    if (Array.isArray(next)) {
      const o: Obj = {};
      next.forEach((v, j) => (o[String(j)] = v));
      cur[p] = o;
      next = o;
    } else if (!isObj(next)) {
      next = {};
      cur[p] = next;
    }
    cur = next as Obj;
  }
  const last = parts[parts.length - 1];
  const existing = cur[last];
  if (isObj(existing) && isObj(value)) {
    for (const [k, v] of Object.entries(value)) mergeInto(existing, k, v);
  } else {
    cur[last] = value;
  }
}

/** Deep copy with every dotted key expanded into nested objects. */
export function unflatten(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unflatten);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, val] of Object.entries(v)) mergeInto(out, k, unflatten(val));
  return out;
}

export function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObj(cur)) cur = cur[p];
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** An array, or an object keyed "0","1",… in numeric order; anything else: []. */
export function asList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.startsWith('[')) {
      try {
        const j = JSON.parse(t);
        if (Array.isArray(j)) return j;
      } catch {
        /* not JSON */
      }
    }
    return [];
  }
  if (isObj(v)) {
    const keys = Object.keys(v);
    if (keys.length && keys.every((k) => /^\d+$/.test(k))) {
      return keys.sort((a, b) => Number(a) - Number(b)).map((k) => v[k]);
    }
  }
  return [];
}

/** Parse a JSON string; other values pass through. */
export function parseMaybe(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!t || !(t.startsWith('{') || t.startsWith('[') || t === 'true' || t === 'false' || t === 'null')) return v;
  try {
    return JSON.parse(t);
  } catch {
    return v;
  }
}

export function str(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

export function prettyJsonText(v: unknown): string {
  const p = parseMaybe(v);
  if (typeof p === 'string') return p;
  try {
    return JSON.stringify(p, null, 2);
  } catch {
    return String(p);
  }
}

export interface ToolCall {
  id?: string;
  name?: string;
  args: string;
}

export interface MessageContent {
  type: string;
  text?: string;
  imageUrl?: string;
}

export interface Message {
  role: string;
  name?: string;
  content?: string;
  contents: MessageContent[];
  toolCalls: ToolCall[];
  toolCallId?: string;
}

export function parseMessages(v: unknown): Message[] {
  return asList(parseMaybe(v)).map((item) => {
    const m = (isObj(item) && isObj(item.message) ? item.message : item) as Obj;
    const msg: Message = {
      role: str(m?.role) ?? 'unknown',
      name: str(m?.name),
      content: m?.content === undefined || m?.content === null ? undefined : str(m.content),
      contents: [],
      toolCalls: [],
      toolCallId: str(m?.tool_call_id),
    };
    for (const c of asList(m?.contents)) {
      const mc = (isObj(c) && isObj(c.message_content) ? c.message_content : c) as Obj;
      if (!isObj(mc)) continue;
      msg.contents.push({
        type: str(mc.type) ?? 'text',
        text: str(mc.text),
        imageUrl: str(get(mc, 'image.image.url')) ?? str(get(mc, 'image.url')),
      });
    }
    for (const t of asList(m?.tool_calls)) {
      const tc = (isObj(t) && isObj(t.tool_call) ? t.tool_call : t) as Obj;
      if (!isObj(tc)) continue;
      const fn = isObj(tc.function) ? tc.function : {};
      msg.toolCalls.push({
        id: str(tc.id),
        name: str(fn.name) ?? str(tc.name),
        args: prettyJsonText(fn.arguments ?? tc.arguments ?? ''),
      });
    }
    return msg;
  });
}

export interface Doc {
  id?: string;
  content?: string;
  score?: number;
  metadata?: unknown;
}

export function parseDocuments(v: unknown): Doc[] {
  return asList(parseMaybe(v)).map((item) => {
    const d = (isObj(item) && isObj(item.document) ? item.document : item) as Obj;
    const score = d?.score;
    return {
      id: str(d?.id),
      content: str(d?.content),
      score: typeof score === 'number' ? score : typeof score === 'string' && score.trim() !== '' ? Number(score) : undefined,
      metadata: d?.metadata === undefined ? undefined : parseMaybe(d.metadata),
    };
  });
}

export interface ToolDef {
  name: string;
  description?: string;
  schema: unknown;
}

export function parseTools(v: unknown): ToolDef[] {
  return asList(parseMaybe(v)).map((item, i) => {
    const t = isObj(item) && isObj(item.tool) ? item.tool : item;
    const schema = parseMaybe(isObj(t) ? (t.json_schema ?? t) : t);
    const fn = isObj(schema) && isObj(schema.function) ? schema.function : schema;
    const name = (isObj(fn) && str(fn.name)) || (isObj(t) && str(t.name)) || `tool ${i + 1}`;
    const description = isObj(fn) ? str(fn.description) : undefined;
    return { name, description, schema };
  });
}
