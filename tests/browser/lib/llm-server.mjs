// A fake OpenAI-compatible provider on loopback, as the Rust e2e tests have one
// (tests/e2e/llm_server.rs): `POST /v1/chat/completions` answers the last user message
// upper-cased, with usage from word counts (prompt = words of every message, completion = words
// of the reply); `GET /v1/models` lists `LLM_MODELS`. An unknown model gets OpenAI's 404. Every
// request is recorded.
import http from 'node:http';

/** Models the server knows, as `GET /v1/models` lists them. */
export const LLM_MODELS = ['ember-upper', 'ember-other'];

/** Whitespace-separated words: the fake server's token count. */
export const wordCount = (text) => text.split(/\s+/).filter(Boolean).length;

/** The server's answer to a last user message. */
export const upperReply = (text) => text.toUpperCase();

/** The text of a message's `content`: a string, or the text of its parts. */
function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : p?.text ?? '')).join('\n');
  return '';
}

/** A running fake provider. */
export class LlmServer {
  static async start() {
    const self = new LlmServer();
    /** `{method, path, headers (lower-cased names), body (text), json}`, oldest first. */
    self.requests = [];
    self.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(body);
        } catch {
          /* not JSON */
        }
        const path = new URL(req.url, 'http://127.0.0.1').pathname;
        self.requests.push({ method: req.method, path, headers: { ...req.headers }, body, json });
        self.handle(req.method, path, json, res);
      });
    });
    await new Promise((resolve, reject) => {
      self.server.once('error', reject);
      self.server.listen(0, '127.0.0.1', resolve);
    });
    self.port = self.server.address().port;
    return self;
  }

  /** `http://127.0.0.1:PORT`. */
  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The chat requests received, oldest first. */
  chats() {
    return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions');
  }

  handle(method, path, body, res) {
    const send = (status, value) => {
      const text = JSON.stringify(value);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (method === 'GET' && path === '/v1/models') {
      return send(200, {
        object: 'list',
        data: LLM_MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'ember-browser-tests' })),
      });
    }
    if (method === 'POST' && path === '/v1/chat/completions') {
      const model = body?.model ?? '';
      if (!LLM_MODELS.includes(model)) {
        return send(404, {
          error: {
            message: `The model \`${model}\` does not exist or you do not have access to it.`,
            type: 'invalid_request_error',
            param: null,
            code: 'model_not_found',
          },
        });
      }
      const messages = Array.isArray(body?.messages) ? body.messages : [];
      const lastUser = [...messages].reverse().find((m) => m?.role === 'user');
      const content = upperReply(contentText(lastUser?.content));
      const promptTokens = messages.reduce((n, m) => n + wordCount(contentText(m?.content)), 0);
      const completionTokens = wordCount(content);
      return send(200, {
        id: 'chatcmpl-browser',
        object: 'chat.completion',
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        system_fingerprint: 'fp_browser',
      });
    }
    return send(404, { error: { message: `no route ${path}` } });
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}
