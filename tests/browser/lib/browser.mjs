// Headless Chromium (Debian's `chromium`, driven by playwright-core: no browser download), one
// page per test that records every console error, uncaught page error, failed request and
// HTTP ≥ 400 response, and fails the test when there was any; screenshots per step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { artifactDir } from './server.mjs';

export const CHROMIUM = process.env.EMBER_CHROMIUM || '/usr/bin/chromium';

/** Launches headless Chromium with the flags this closed network and root user need. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** `tests/browser` test names → file names. */
export function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** `[data-testid="id"]`, with extra attribute selectors appended. */
export const tid = (id, extra = '') => `[data-testid="${id}"]${extra}`;

/**
 * A page for one test. `problems` collects what must not happen; `shot(step)` saves
 * `target/browser-artifacts/<test>-<NN>-<step>.png`.
 */
export class CheckedPage {
  static async open(browser, testName, { viewport = { width: 1440, height: 900 } } = {}) {
    const self = new CheckedPage();
    self.name = slug(testName);
    self.steps = 0;
    self.problems = [];
    self.context = await browser.newContext({ viewport });
    self.context.setDefaultTimeout(15_000);
    self.page = await self.context.newPage();
    const page = self.page;
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        const loc = msg.location();
        self.problems.push(`console.error: ${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
      }
    });
    page.on('pageerror', (err) => self.problems.push(`pageerror: ${err.stack || err.message}`));
    page.on('requestfailed', (req) => {
      const failure = req.failure()?.errorText ?? 'failed';
      // A fetch cancelled by an AbortController or by leaving the page is not a failure.
      if (failure === 'net::ERR_ABORTED') return;
      self.problems.push(`request failed: ${req.method()} ${req.url()}: ${failure}`);
    });
    page.on('response', async (res) => {
      if (res.status() >= 400) {
        let body = '';
        try {
          body = (await res.text()).slice(0, 300);
        } catch {
          /* the body may be gone */
        }
        self.problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()} ${body}`);
        return;
      }
      // GraphQL reports errors with status 200: an `errors` member is a failed request too.
      if (res.request().method() === 'POST' && new URL(res.url()).pathname.endsWith('/graphql')) {
        try {
          const reply = await res.json();
          if (Array.isArray(reply?.errors) && reply.errors.length) {
            const query = (res.request().postDataJSON()?.query ?? '').replace(/\s+/g, ' ').slice(0, 120);
            self.problems.push(`GraphQL errors: ${reply.errors.map((e) => e.message).join('; ')} (query: ${query}…)`);
          }
        } catch {
          /* not JSON, or the body is gone */
        }
      }
    });
    return self;
  }

  /** Saves the numbered screenshot of the whole page. */
  async shot(step) {
    this.steps += 1;
    const file = path.join(artifactDir, `${this.name}-${String(this.steps).padStart(2, '0')}-${slug(step)}.png`);
    await this.page.screenshot({ path: file, fullPage: false });
    return file;
  }

  /** Fails when anything went wrong on the page; prints what. */
  assertClean() {
    if (this.problems.length) {
      console.error(`\n!!! ${this.name}: ${this.problems.length} console/network problem(s):\n  ${this.problems.join('\n  ')}`);
    }
    assert.deepEqual(this.problems, [], 'no console errors, page errors, failed requests or HTTP ≥ 400 responses');
  }

  async close() {
    await this.context.close();
  }
}

/**
 * Runs `body(page, checked)` on a fresh checked page; on failure saves a `failure` screenshot
 * and prints the page's problems and URL. Fails the test on any console/network problem.
 */
export async function withPage(browser, testName, body, options) {
  const checked = await CheckedPage.open(browser, testName, options);
  try {
    await body(checked.page, checked);
  } catch (err) {
    try {
      await checked.shot('failure');
      const html = await checked.page.content();
      fs.writeFileSync(path.join(artifactDir, `${checked.name}-failure.html`), html);
    } catch {
      /* the page may be gone */
    }
    const extra = checked.problems.length ? `\nconsole/network problems:\n  ${checked.problems.join('\n  ')}` : '';
    err.message += `\n(at ${checked.page.url()})${extra}`;
    throw err;
  } finally {
    // Let late responses and errors arrive before judging the page.
    await checked.page.waitForTimeout(200).catch(() => {});
    await checked.close().catch(() => {});
  }
  checked.assertClean();
}

/** Waits until `fn()` returns a truthy value (polled), or fails with `message`. */
export async function eventually(fn, message, { timeout = 15_000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${typeof message === 'function' ? message() : message} (after ${timeout} ms)${lastError ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
