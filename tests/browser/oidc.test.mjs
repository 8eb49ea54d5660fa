// Sign-in in headless Chromium through the login page and a real OpenID provider
// (`oidc-provider`, tests/oidc/, started here on loopback): unauthenticated visitors land on the
// login page, the provider's button leads through its login form and back to where they were
// going, signed in; a tampered state, a replayed code and an expired ID token are refused with
// the reason on the login page.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { launchBrowser, tid, withPage } from './lib/browser.mjs';
import { Ember, repoRoot } from './lib/server.mjs';

const ADMIN_PASSWORD = 'first operator passphrase 7';

let ember;
let idp;
let browser;
let idpOrigin;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startProvider(port, redirectUris) {
  const dir = path.join(repoRoot, 'tests', 'oidc');
  const setup = spawnSync('bash', [path.join(dir, 'setup.sh')], { stdio: 'inherit' });
  assert.equal(setup.status, 0, 'tests/oidc/setup.sh');
  // A start that exits or stays silent is retried (the failures seen in CI left no trace, so
  // each attempt's stderr goes into the error).
  const failures = [];
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const child = spawn('node', [path.join(dir, 'provider.mjs'), String(port)], {
      env: { ...process.env, OIDC_REDIRECT_URIS: redirectUris },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const lines = createInterface({ input: child.stdout });
    const started = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve('did not print its listening line in 30 s'), 30_000);
      lines.on('line', (line) => {
        if (line.includes('listening')) {
          clearTimeout(timer);
          resolve(null);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(`exited (${code ?? signal}) before listening`);
      });
    });
    if (started === null) return child;
    child.kill('SIGKILL');
    failures.push(`attempt ${attempt}: ${started}; stderr: ${stderr.trim() || '(empty)'}`);
  }
  throw new Error(`the OpenID provider did not start on port ${port}:\n${failures.join('\n')}`);
}

/**
 * After a click that leads to the provider: signs in there as `login` if it asks (it may not,
 * when its own session is still open), until `done()` holds.
 */
async function throughProvider(page, login, done) {
  const form = page.locator('input[name="login"]');
  const deadline = Date.now() + 15_000;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, 'the sign-in did not come back from the provider');
    if (await form.isVisible().catch(() => false)) {
      await form.fill(login);
      await page.locator('input[name="password"]').fill('any password');
      await page.getByRole('button', { name: 'Sign-in' }).click();
    }
    await page.waitForTimeout(200);
  }
}

/**
 * Walks a sign-in that starts at `start` with the browser context's cookie store (its request
 * API), redirect by redirect, signing in at the provider as `login` if it asks; returns the
 * provider's redirect back to Ember, not yet followed (its code unused).
 */
async function callbackOf(context, start, login) {
  let next = start;
  for (let hop = 0; hop < 10; hop += 1) {
    if (new URL(next).pathname.endsWith('/tokens')) return next;
    const res = await context.request.get(next, { maxRedirects: 0 });
    const location = res.headers().location;
    if (location) {
      next = new URL(location, next).toString();
      continue;
    }
    // The provider's login form: post it like the browser would.
    const posted = await context.request.post(next, {
      form: { prompt: 'login', login, password: 'any password' },
      maxRedirects: 0,
    });
    next = new URL(posted.headers().location, next).toString();
  }
  throw new Error(`no callback after 10 redirects from ${start}`);
}

before(async () => {
  const idpPort = await freePort();
  idpOrigin = `http://127.0.0.1:${idpPort}`;
  const config = `${idpOrigin}/.well-known/openid-configuration`;
  ember = await Ember.start({
    name: 'oidc',
    env: {
      EMBER_ENABLE_AUTH: 'true',
      EMBER_ADMIN_INITIAL_PASSWORD: ADMIN_PASSWORD,
      EMBER_OAUTH2_TEST_CLIENT_ID: 'ember',
      EMBER_OAUTH2_TEST_CLIENT_SECRET: 'ember-secret',
      EMBER_OAUTH2_TEST_OIDC_CONFIG_URL: config,
      EMBER_OAUTH2_TEST_DISPLAY_NAME: 'Test IdP',
      EMBER_OAUTH2_TEST_SCOPES: 'groups',
      EMBER_OAUTH2_TEST_ROLE_MAPPING: 'ember-devs:MEMBER',
      EMBER_OAUTH2_EXPIRED_CLIENT_ID: 'ember-expired',
      EMBER_OAUTH2_EXPIRED_CLIENT_SECRET: 'ember-expired-secret',
      EMBER_OAUTH2_EXPIRED_OIDC_CONFIG_URL: config,
      EMBER_OAUTH2_EXPIRED_DISPLAY_NAME: 'Expired IdP',
    },
  });
  const redirects = [`${ember.origin}/oauth2/test/tokens`, `${ember.origin}/oauth2/expired/tokens`].join(',');
  idp = await startProvider(idpPort, redirects);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  idp?.kill();
  await ember?.stop();
});

test('OpenID Connect sign-in in the browser, and the refusals', async () => {
  await withPage(browser, 'oidc sign-in', async (page, checked) => {
    let flowCookie = null;
    const callbacks = [];
    page.on('response', async (res) => {
      const pathname = new URL(res.url()).pathname;
      if (pathname === '/oauth2/test/login') {
        const set = (await res.allHeaders())['set-cookie'] ?? '';
        flowCookie = set.match(/ember-oauth2-flow=([^;]+)/)?.[1] ?? flowCookie;
      }
      if (pathname === '/oauth2/test/tokens') callbacks.push(res.url());
    });

    // Not signed in: the projects page sends the visitor to the login page.
    await page.goto(`${ember.origin}/projects`);
    await page.locator(tid('login-page')).waitFor();
    assert.match(page.url(), /\/login\?returnUrl=%2Fprojects/);
    await checked.shot('login-page');

    // The provider's button: its login form, then back to /projects, signed in.
    await page.locator(tid('login-provider-test')).click();
    await page.locator('input[name="login"]').fill('bob');
    await page.locator('input[name="password"]').fill('any password');
    await checked.shot('provider-login-form');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.locator(tid('signed-in-user'), { hasText: 'bob' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/projects');
    await page.locator(tid('nav-projects')).waitFor();
    await checked.shot('signed-in');
    const firstCallback = callbacks.at(-1);
    const firstFlow = flowCookie;
    assert.ok(firstCallback && firstFlow, 'the callback and its flow cookie were seen');

    // A replayed code (with its own flow cookie put back, as a thief holding both would): the
    // provider refuses the code and nobody is signed in by it.
    await page.context().addCookies([{ name: 'ember-oauth2-flow', value: firstFlow, domain: '127.0.0.1', path: '/oauth2' }]);
    await page.goto(firstCallback);
    await page.locator(tid('login-error')).waitFor();
    assert.match(await page.locator(tid('login-error')).textContent(), /invalid_grant/);
    await checked.shot('replayed-code-refused');

    // A tampered state: a fresh sign-in is walked with the browser's own cookies up to the
    // provider's answer, which the browser then opens with its state changed.
    const held = await callbackOf(page.context(), `${ember.origin}/oauth2/test/login`, 'bob');
    await page.goto(held.replace(/state=([^&]+)/, 'state=$1x'));
    await page.locator(tid('login-error')).waitFor();
    assert.match(await page.locator(tid('login-error')).textContent(), /state does not match/);
    await checked.shot('tampered-state-refused');

    // An ID token that arrives expired.
    await page.locator(tid('login-provider-expired')).click();
    await throughProvider(page, 'carol', () => page.locator(tid('login-error')).isVisible());
    assert.match(await page.locator(tid('login-error')).textContent(), /expired/i);
    await checked.shot('expired-token-refused');

    // The provider's own pages have no favicon: not Ember's problem.
    checked.problems = checked.problems.filter((p) => !p.includes(`${idpOrigin}/favicon.ico`));
  });
});
