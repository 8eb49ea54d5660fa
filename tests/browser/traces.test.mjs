// Spans sent with the OpenTelemetry SDK show up in the projects list, the spans table and the
// trace view (tree, LLM messages, tool call, documents, exception); annotations are added from
// the span detail; the spans table updates live.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, launchBrowser, tid, withPage } from './lib/browser.mjs';
import { Ember, unique } from './lib/server.mjs';
import { LLM_TRACE, sendLlmTrace, sendSpan } from './lib/spans.mjs';

let ember;
let browser;

before(async () => {
  ember = await Ember.start({ name: 'traces' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await ember?.stop();
});

/** Clicks a row: its link when it has one, else the row itself. */
async function open(row) {
  const link = row.locator('a').first();
  if (await link.count()) await link.click();
  else await row.click();
}

test('ingest, projects, spans table, trace view with LLM messages, annotation', async () => {
  const project = unique('browser-llm');
  const { traceId, spanIds } = await sendLlmTrace(ember.otlpUrl, project);
  await ember.waitForSpans(project, 4);

  await withPage(browser, 'trace view', async (page, checked) => {
    // Projects list: the project with its span count.
    await page.goto(ember.url('/'));
    const projectRow = page.locator(tid('project-row'), { hasText: project });
    await projectRow.waitFor();
    await eventually(async () => (await projectRow.locator(tid('project-span-count')).textContent()).includes('4'),
      'project-span-count shows 4');
    await checked.shot('projects');

    // Spans table: the four spans.
    await open(projectRow);
    await page.locator(tid('spans-table')).waitFor();
    for (const name of [LLM_TRACE.root, LLM_TRACE.llm, LLM_TRACE.retriever, LLM_TRACE.tool]) {
      await page.locator(tid('span-row'), { hasText: name }).first().waitFor();
    }
    assert.equal(await page.locator(tid('span-row')).count(), 4, 'one span-row per span');
    await checked.shot('spans-table');

    // Trace view: the tree holds the four spans.
    await open(page.locator(tid('span-row'), { hasText: LLM_TRACE.root }).first());
    await page.waitForURL((url) => url.pathname.includes(`/traces/${traceId}`));
    await page.locator(tid('trace-tree')).waitFor();
    await eventually(async () => (await page.locator(tid('tree-row')).count()) === 4, 'four tree-rows');
    for (const name of [LLM_TRACE.root, LLM_TRACE.llm, LLM_TRACE.retriever, LLM_TRACE.tool]) {
      await page.locator(tid('tree-row'), { hasText: name }).waitFor();
    }
    await page.locator(tid('waterfall')).waitFor();
    await checked.shot('trace-tree');

    // The LLM span: system, user and assistant messages, the tool call.
    await page.locator(tid('tree-row'), { hasText: LLM_TRACE.llm }).click();
    const detail = page.locator(tid('span-detail'));
    await detail.locator(tid('llm-messages')).waitFor();
    const message = (role) => detail.locator(tid('llm-message', `[data-role="${role}"]`));
    await message('system').filter({ hasText: LLM_TRACE.system }).waitFor();
    await message('user').filter({ hasText: LLM_TRACE.user }).waitFor();
    await message('assistant').filter({ hasText: LLM_TRACE.assistant }).waitFor();
    const toolCall = message('assistant').locator(tid('tool-call'));
    await toolCall.filter({ hasText: LLM_TRACE.toolName }).waitFor();
    assert.ok((await toolCall.first().textContent()).includes('Lisbon'), 'tool call shows its arguments');
    assert.ok(page.url().includes(spanIds.llm) || (await detail.textContent()).includes(LLM_TRACE.model),
      'the detail is the LLM span');
    await checked.shot('llm-messages');

    // The retriever's documents and the tool's exception.
    await page.locator(tid('tree-row'), { hasText: LLM_TRACE.retriever }).click();
    await detail.locator(tid('retrieval-document')).filter({ hasText: LLM_TRACE.documents[1] }).waitFor();
    assert.equal(await detail.locator(tid('retrieval-document')).count(), 2, 'two retrieval-documents');
    await detail.locator(tid('retrieval-document')).first().scrollIntoViewIfNeeded();
    await checked.shot('retrieval-documents');
    await page.locator(tid('tree-row'), { hasText: LLM_TRACE.tool }).click();
    await detail.locator(tid('span-exception')).filter({ hasText: LLM_TRACE.exception }).waitFor();
    await detail.locator(tid('span-exception')).first().scrollIntoViewIfNeeded();
    await checked.shot('span-exception');

    // An annotation on the LLM span, added through the form.
    await page.locator(tid('tree-row'), { hasText: LLM_TRACE.llm }).click();
    await detail.locator(tid('llm-messages')).waitFor();
    const form = detail.locator(tid('annotation-form'));
    await form.locator(tid('annotation-name')).fill('helpfulness');
    await form.locator(tid('annotation-label')).fill('helpful');
    await form.locator(tid('annotation-score')).fill('0.75');
    await form.locator(tid('annotation-submit')).click();
    const annotation = detail.locator(tid('annotation-row'), { hasText: 'helpfulness' });
    await annotation.waitFor();
    assert.match(await annotation.textContent(), /helpful/);
    assert.match(await annotation.textContent(), /0\.75/);
    await annotation.scrollIntoViewIfNeeded();
    await checked.shot('annotation');

    // Stored on the server.
    const stored = await ember.ok('GET', `/v1/projects/${encodeURIComponent(project)}/span_annotations?span_ids=${spanIds.llm}`);
    const saved = stored.data.find((a) => a.name === 'helpfulness');
    assert.ok(saved, `annotation stored: ${JSON.stringify(stored)}`);
    assert.equal(saved.result.score, 0.75);
    assert.equal(saved.result.label, 'helpful');

    // Back in the spans table: the LLM and retriever spans, selected, become a dataset.
    const { id: projectId } = await ember.project(project);
    await page.goto(ember.url(`/projects/${projectId}`));
    await page.locator(tid('span-row')).nth(3).waitFor();
    const tablePath = new URL(page.url()).pathname;
    const bar = page.locator(tid('span-selection-bar'));
    const checkedBoxes = page.locator(`${tid('span-select')}:checked`);
    // The header checkbox selects the loaded rows, and unselects them.
    await page.locator(tid('span-select-all')).check();
    await bar.filter({ hasText: '4 selected' }).waitFor();
    assert.equal(await checkedBoxes.count(), 4, 'every loaded row is selected');
    await page.locator(tid('span-select-all')).uncheck();
    await bar.waitFor({ state: 'detached' });
    // A row's checkbox selects it without opening the span.
    const select = (name) => page.locator(tid('span-row'), { hasText: name }).locator(tid('span-select'));
    await select(LLM_TRACE.llm).check();
    await select(LLM_TRACE.retriever).check();
    await bar.filter({ hasText: '2 selected' }).waitFor();
    assert.equal(new URL(page.url()).pathname, tablePath, 'checking a row does not open its trace');
    await page.locator(tid('dataset-from-spans')).click();
    const panel = page.locator(tid('dataset-from-spans-panel'));
    await panel.locator(tid('dataset-from-spans-name')).fill('from-trace-view');
    await checked.shot('dataset-from-spans-panel');
    await panel.locator(tid('dataset-from-spans-submit')).click();
    const datasetLink = page.locator(tid('dataset-from-spans-link'));
    await datasetLink.waitFor();
    assert.equal((await datasetLink.textContent()).trim(), 'from-trace-view');
    assert.equal(await checkedBoxes.count(), 0, 'the selection is cleared');
    assert.equal(await bar.count(), 0, 'no selection bar without a selection');

    // The dataset page: one example per span, inputs as the spans' inputs.
    await datasetLink.click();
    await page.waitForURL((url) => url.pathname.includes('/datasets/'));
    const examples = page.locator(tid('example-row'));
    await eventually(async () => (await examples.count()) === 2, 'two example-rows');
    const texts = await examples.allTextContents();
    for (const input of [LLM_TRACE.user, 'Lisbon weather']) {
      assert.equal(texts.filter((t) => t.includes(JSON.stringify({ input }))).length, 1,
        `one example with input ${JSON.stringify(input)}: ${JSON.stringify(texts)}`);
    }
    await checked.shot('dataset-from-spans');
  });
});

test('spans table updates live', async () => {
  const project = unique('browser-live');
  await sendSpan(ember.otlpUrl, project, 'first-span');
  const [{ id: projectId }] = [await eventually(() => ember.project(project), 'project created')];

  await withPage(browser, 'live updates', async (page, checked) => {
    await page.goto(ember.url(`/projects/${projectId}`));
    await page.locator(tid('span-row'), { hasText: 'first-span' }).waitFor();
    // Pushed over the `spansStored` subscription (WebSocket), not polled.
    await page.locator(`${tid('live-indicator')}[data-transport="push"]`).waitFor();
    await checked.shot('before');
    // A marker that a reload would wipe.
    await page.evaluate(() => {
      window.__notReloaded = true;
    });
    const sentAt = Date.now();
    await sendSpan(ember.otlpUrl, project, 'second-span');
    await page.locator(tid('span-row'), { hasText: 'second-span' }).waitFor({ timeout: 12_000 });
    const seenAfter = Date.now() - sentAt;
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
    assert.equal(await page.locator(tid('span-row')).count(), 2);
    console.log(`live update: new span row after ${seenAfter} ms`);
    await checked.shot('after');
  });
});
