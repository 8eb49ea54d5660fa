// Prompt versions as the REST API gives them (Phoenix's PromptVersion) and their templates.

export interface PromptItem {
  id: string;
  name: string;
  description: string | null;
  source_prompt_id: string | null;
  metadata: unknown;
}

export interface PromptVersion {
  id: string;
  description: string;
  model_provider: string;
  model_name: string;
  template: unknown;
  template_type: string;
  template_format: string;
  invocation_parameters: unknown;
  metadata?: unknown;
  tools?: unknown;
  response_format?: unknown;
}

export interface TemplateMessage {
  role: string;
  content: string;
}

/** The text of a message content: a string, or the text parts of a part list. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (part && typeof part === 'object') {
          const p = part as Record<string, unknown>;
          if (p.type === 'text' && typeof p.text === 'string') return p.text;
          if (p.type === 'tool_call') return `[tool call ${JSON.stringify(p.tool_call ?? {})}]`;
          if (p.type === 'tool_result') return `[tool result ${JSON.stringify(p.tool_result ?? null)}]`;
        }
        return '';
      })
      .join('');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

/** A version's template as messages (a string template is one user message). */
export function templateMessages(template: unknown): TemplateMessage[] {
  if (!template || typeof template !== 'object') return [];
  const t = template as Record<string, unknown>;
  if (t.type === 'string' && typeof t.template === 'string') return [{ role: 'user', content: t.template }];
  if (Array.isArray(t.messages)) {
    return t.messages.map((m) => {
      const message = (m ?? {}) as Record<string, unknown>;
      return { role: String(message.role ?? 'user'), content: contentText(message.content) };
    });
  }
  return [];
}

/** The provider-specific parameters of `{"type": t, t: {...}}`, flattened. */
export function invocationParams(value: unknown): Record<string, unknown> {
  if (!value || typeof value !== 'object') return {};
  const v = value as Record<string, unknown>;
  const kind = typeof v.type === 'string' ? v.type : '';
  const inner = kind && v[kind] && typeof v[kind] === 'object' ? (v[kind] as Record<string, unknown>) : {};
  return inner;
}

/** Variable names in a template: `{{name}}` (mustache) or `{name}` (f-string). */
export function templateVariables(texts: string[], format: string): string[] {
  const out: string[] = [];
  const add = (name: string) => {
    const n = name.trim();
    if (n && !out.includes(n)) out.push(n);
  };
  for (const text of texts) {
    if (format === 'F_STRING') {
      for (const m of text.matchAll(/(?<!\{)\{([A-Za-z_][\w.]*)\}(?!\})/g)) add(m[1]);
    } else if (format !== 'NONE') {
      for (const m of text.matchAll(/\{\{\s*([#^/]?)\s*([\w.-]+)\s*\}\}/g)) if (!m[1] || m[1] === '#' || m[1] === '^') add(m[2]);
    }
  }
  return out;
}

/** Fills variables in the way the template format says; unknown ones stay as written. */
export function renderTemplate(text: string, format: string, values: Record<string, string>): string {
  if (format === 'F_STRING') {
    return text.replace(/(?<!\{)\{([A-Za-z_][\w.]*)\}(?!\})/g, (whole, name: string) =>
      Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole,
    );
  }
  if (format === 'NONE') return text;
  return text.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole,
  );
}
