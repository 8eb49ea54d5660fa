// Behind a path prefix (EMBER_ROOT_PATH=/ember): the projects list at /ember/, a deep link into
// a trace, every asset and API call under /ember/.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, tid, withPage } from './lib/browser.mjs';
import { Ember, unique } from './lib/server.mjs';
import { LLM_TRACE, sendLlmTrace } from './lib/spans.mjs';

const ROOT = '/ember';

let ember;
let browser;

before(async () => {
  ember = await Ember.start({ name: 'root-path', rootPath: ROOT });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await ember?.stop();
});

test('root path: projects list and a deep link to a trace under /ember', async () => {
  const project = unique('browser-root');
  const { traceId } = await sendLlmTrace(ember.otlpUrl, project);
  await ember.waitForSpans(project, 4);
  const { id: projectId } = await ember.project(project);

  await withPage(browser, 'root path', async (page, checked) => {
    const outside = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.origin === ember.origin && !url.pathname.startsWith(`${ROOT}/`)) outside.push(`${req.method()} ${url.pathname}`);
    });

    await page.goto(`${ember.origin}${ROOT}/`);
    await page.locator(tid('project-row'), { hasText: project }).waitFor();
    const injected = await page.evaluate(() => window.__EMBER__);
    assert.equal(injected?.rootPath, ROOT, `window.__EMBER__ = ${JSON.stringify(injected)}`);
    await checked.shot('projects');

    // A deep link, loaded from scratch: its assets come from /ember/assets/….
    const deep = `${ember.origin}${ROOT}/projects/${projectId}/traces/${traceId}`;
    await page.goto(deep);
    await page.locator(tid('trace-tree')).waitFor();
    await page.locator(tid('tree-row'), { hasText: LLM_TRACE.llm }).waitFor();
    assert.equal(await page.locator(tid('tree-row')).count(), 4);
    await checked.shot('deep-link-trace');

    // Links the SPA builds stay under the root path.
    await page.locator(tid('nav-projects')).click();
    await page.locator(tid('project-row'), { hasText: project }).waitFor();
    assert.equal(new URL(page.url()).pathname.replace(/\/$/, ''), ROOT, `nav-projects leads to ${ROOT}/: ${page.url()}`);
    await checked.shot('nav-projects');

    const scripts = await page.evaluate(() => [...document.querySelectorAll('script[src], link[href]')].map((e) => e.src || e.href));
    for (const src of scripts) {
      const url = new URL(src);
      if (url.origin === ember.origin) assert.ok(url.pathname.startsWith(`${ROOT}/`), `asset ${src} under ${ROOT}/`);
    }
    assert.deepEqual(outside, [], `every request stays under ${ROOT}/`);
  });
});
