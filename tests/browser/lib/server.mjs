// Starts the real `ember` binary on ephemeral ports against a fresh working directory, as the
// Rust e2e harness (tests/e2e/harness.rs) does, and talks to its REST API.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests/browser/lib → ../../..). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where screenshots, timings and server logs go (CI keeps it as an artifact). */
export const artifactDir = path.join(repoRoot, 'target', 'browser-artifacts');
fs.mkdirSync(artifactDir, { recursive: true });

/** The server binary: `EMBER_BIN`, else `target/debug/ember` in the repository. */
export function emberBin() {
  const bin = process.env.EMBER_BIN || 'target/debug/ember';
  return path.isAbsolute(bin) ? bin : path.join(repoRoot, bin);
}

/** A running `ember serve`. */
export class Ember {
  /**
   * @param {object} [options]
   * @param {string} [options.name] names the server's log file in the artifact directory
   * @param {string} [options.rootPath] `EMBER_ROOT_PATH`, e.g. "/ember" ("" by default)
   * @param {Record<string,string>} [options.env] extra environment variables
   */
  static async start({ name = 'ember', rootPath = '', env = {} } = {}) {
    const bin = emberBin();
    if (!fs.existsSync(bin)) throw new Error(`${bin} missing: build it (tests/run.sh does) or set EMBER_BIN`);
    const pluginDir = path.join(repoRoot, 'plugins', 'dist');
    if (!fs.existsSync(pluginDir)) throw new Error(`${pluginDir} missing: run \`bash plugins/build.sh\` (tests/run.sh does)`);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ember-browser-'));
    const logPath = path.join(artifactDir, `server-${name}.log`);
    const log = fs.openSync(logPath, 'w');
    const childEnv = {
      ...process.env,
      EMBER_WORKING_DIR: workDir,
      EMBER_PLUGIN_DIR: pluginDir,
      // Compiled plugin code, shared with the Rust e2e tests so that start-up stays quick.
      EMBER_PLUGIN_CACHE_DIR: path.join(repoRoot, 'target', 'ember-test-cache'),
      RUST_LOG: process.env.RUST_LOG || 'warn',
      ...env,
    };
    delete childEnv.EMBER_DATABASE_URL;
    delete childEnv.EMBER_ROOT_PATH;
    if (rootPath) childEnv.EMBER_ROOT_PATH = rootPath;
    const child = spawn(bin, ['serve', '--port', '0', '--grpc-port', '0'], {
      env: childEnv,
      stdio: ['ignore', 'pipe', log],
    });
    fs.closeSync(log);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const lines = createInterface({ input: child.stdout });
    const line = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${bin} did not announce its ports within 60 s (log: ${logPath})`)), 60_000);
      lines.on('line', (text) => {
        if (text.startsWith('ember listening')) {
          clearTimeout(timer);
          resolve(text);
        }
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`ember exited (${code ?? signal}) before listening; log ${logPath}:\n${tail(logPath)}`));
      });
    });
    const field = (key) => {
      const word = line.split(/\s+/).find((w) => w.startsWith(`${key}=`));
      if (!word) throw new Error(`no ${key}= in ${JSON.stringify(line)}`);
      return word.slice(key.length + 1);
    };
    const ember = new Ember();
    ember.child = child;
    ember.exited = exited;
    ember.workDir = workDir;
    ember.logPath = logPath;
    ember.origin = `http://${field('http')}`;
    ember.grpc = field('grpc');
    ember.rootPath = rootPath;
    /** Everything (UI, REST, GraphQL, OTLP) lives under this URL. */
    ember.base = ember.origin + rootPath;
    process.once('exit', () => child.kill('SIGKILL'));
    return ember;
  }

  /** `base + path`. */
  url(p) {
    return this.base + p;
  }

  /** The OTLP/HTTP traces endpoint. */
  get otlpUrl() {
    return this.url('/v1/traces');
  }

  /** JSON request; returns `{status, body}` (`body` null when not JSON). */
  async request(method, p, body, headers = {}) {
    const init = { method, headers: { ...headers } };
    if (body instanceof Uint8Array || body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
    const response = await fetch(this.url(p), init);
    const text = await response.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text ? { text } : null;
    }
    return { status: response.status, body: parsed };
  }

  /** Like `request`, failing unless the status is 2xx; returns the body. */
  async ok(method, p, body, headers) {
    const { status, body: reply } = await this.request(method, p, body, headers);
    if (status < 200 || status >= 300) throw new Error(`${method} ${p}: ${status} ${JSON.stringify(reply)}`);
    return reply;
  }

  /** `GET /v1/projects`, the project named `name` (null when absent). */
  async project(name) {
    const body = await this.ok('GET', '/v1/projects?limit=1000');
    return body.data.find((p) => p.name === name) ?? null;
  }

  /** Polls until the project holds at least `count` spans; returns them (REST shapes). */
  async waitForSpans(project, count, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await this.request('GET', `/v1/projects/${encodeURIComponent(project)}/spans?limit=1000`);
      if (last.status === 200 && last.body.data.length >= count) return last.body.data;
      if (Date.now() > deadline) throw new Error(`project ${project} did not reach ${count} spans: ${last.status} ${JSON.stringify(last.body).slice(0, 500)}`);
      await sleep(100);
    }
  }

  /** Polls `GET /v1/traces/{id}` until it reports `count` spans; returns its `data`. */
  async waitForTrace(traceId, count, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await this.request('GET', `/v1/traces/${traceId}`);
      if (last.status === 200 && last.body.data.span_count >= count) return last.body.data;
      if (Date.now() > deadline) throw new Error(`trace ${traceId} did not reach ${count} spans: ${last.status} span_count=${last.body?.data?.span_count}`);
      await sleep(250);
    }
  }

  /** Uploads a plugin component (raw `application/wasm`) as `name`; 200 or 201. */
  async uploadPlugin(wasmPath, name) {
    const bytes = new Uint8Array(fs.readFileSync(wasmPath));
    return this.ok('POST', `/v1/plugins?name=${encodeURIComponent(name)}`, bytes, { 'content-type': 'application/wasm' });
  }

  /** SIGTERM, then waits (SIGKILL after 15 s); removes the working directory. */
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  /** The last lines of the server's log. */
  logTail(lines = 40) {
    return tail(this.logPath, lines);
  }
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A name unique to this run, for projects and datasets. */
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}
