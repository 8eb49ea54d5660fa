// A plugin is uploaded from the Plugins page; an evaluator plugin attached from an experiment's
// page scores its runs in the sandbox and the scores show up.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, launchBrowser, tid, withPage } from './lib/browser.mjs';
import { Ember, repoRoot, unique } from './lib/server.mjs';

const EXACT_MATCH = path.join(repoRoot, 'plugins', 'dist', 'exact_match.wasm');
const PLUGIN = 'browser-exact';

let ember;
let browser;

before(async () => {
  ember = await Ember.start({ name: 'plugins' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await ember?.stop();
});

test('upload a plugin on the Plugins page', async () => {
  await withPage(browser, 'plugin upload', async (page, checked) => {
    await page.goto(ember.url('/'));
    await page.locator(tid('nav-plugins')).click();
    await page.waitForURL((url) => url.pathname.endsWith('/plugins'));
    // The first-party plugins installed at start are listed.
    await page.locator(tid('plugin-row', '[data-name="exact_match"]')).waitFor();
    await checked.shot('plugins');

    await page.locator(tid('plugin-upload-input')).setInputFiles(EXACT_MATCH);
    await page.locator(tid('plugin-upload-name')).fill(PLUGIN);
    await page.locator(tid('plugin-upload-submit')).click();
    const row = page.locator(tid('plugin-row', `[data-name="${PLUGIN}"]`));
    await row.waitFor();
    await checked.shot('uploaded');

    const { data } = await ember.ok('GET', '/v1/plugins');
    const stored = data.find((p) => p.name === PLUGIN);
    assert.ok(stored, `${PLUGIN} in GET /v1/plugins: ${JSON.stringify(data.map((p) => p.name))}`);
    assert.ok((await row.textContent()).includes(stored.version), 'the row shows the version');
  });
});

test('attach an evaluator to an experiment and see its scores', async () => {
  // Independent of the upload test: make sure the plugin is there (200 when it already is).
  await ember.uploadPlugin(EXACT_MATCH, PLUGIN);

  // Dataset (three examples with reference outputs), experiment, runs: Phoenix's REST shapes.
  const cases = [
    { question: 'Capital of France?', answer: 'Paris', output: 'Paris', score: 1 },
    { question: 'Two plus two?', answer: 'four', output: 'four', score: 1 },
    { question: 'Colour of the sky?', answer: 'blue', output: 'green', score: 0 },
  ];
  const uploaded = await ember.ok('POST', '/v1/datasets/upload?sync=true', {
    action: 'create',
    name: unique('browser-qa'),
    inputs: cases.map((c) => ({ question: c.question })),
    outputs: cases.map((c) => ({ answer: c.answer })),
  });
  const datasetId = uploaded.data.dataset_id;
  const examples = (await ember.ok('GET', `/v1/datasets/${datasetId}/examples`)).data.examples;
  assert.equal(examples.length, 3);
  const experiment = (await ember.ok('POST', `/v1/datasets/${datasetId}/experiments`, { name: 'browser-baseline' })).data;
  for (const example of examples) {
    const c = cases.find((x) => x.question === example.input.question);
    await ember.ok('POST', `/v1/experiments/${experiment.id}/runs`, {
      dataset_example_id: example.id,
      output: c.output,
      repetition_number: 1,
      start_time: '2026-01-01T10:00:00+00:00',
      end_time: '2026-01-01T10:00:01+00:00',
    });
  }

  await withPage(browser, 'experiment evaluator', async (page, checked) => {
    await page.goto(ember.url(`/experiments/${experiment.id}`));
    await eventually(async () => (await page.locator(tid('run-row')).count()) === 3, 'three run-rows');
    const select = page.locator(tid('evaluator-plugin'));
    await select.waitFor();
    // The option for the uploaded plugin (its value may carry a version: name@x.y.z).
    const option = await eventually(async () => {
      const options = await select.locator('option').evaluateAll((els) => els.map((o) => ({ value: o.value, text: o.textContent })));
      return options.find((o) => o.value === PLUGIN || o.value.startsWith(`${PLUGIN}@`) || o.text.trim().startsWith(PLUGIN));
    }, `evaluator-plugin offers ${PLUGIN}`);
    await select.selectOption(option.value);
    await checked.shot('evaluator-picked');
    await page.locator(tid('evaluator-attach')).click();

    // The scores appear without a reload: 1, 1, 0 on the right runs.
    const scoreOf = async (output) => {
      const row = page.locator(tid('run-row')).filter({ hasText: output });
      const cells = row.locator(tid('evaluation-score'));
      if ((await cells.count()) !== 1) return null;
      const text = (await cells.textContent()).trim();
      return text === '' ? null : Number.parseFloat(text);
    };
    let seen = [];
    await eventually(async () => {
      seen = await Promise.all(cases.map((c) => scoreOf(c.output)));
      return seen.every((s, i) => s === cases[i].score);
    }, () => `evaluation-score cells show 1, 1, 0 for Paris, four, green; saw ${JSON.stringify(seen)}`, { timeout: 60_000, interval: 500 });
    assert.equal(await page.locator(tid('evaluation-score')).count(), 3);
    await checked.shot('scores');

    // The server agrees, and once its jobs are done the page stops showing them as running.
    const evaluators = (await ember.ok('GET', `/v1/experiments/${experiment.id}/evaluators`)).data;
    assert.equal(evaluators.evaluators.length, 1, JSON.stringify(evaluators));
    assert.equal(evaluators.jobs.done, 3, JSON.stringify(evaluators.jobs));
    const jobs = page.locator(tid('evaluator-jobs'));
    if (await jobs.count()) {
      await eventually(async () => !/\brunning\b/.test(await jobs.innerText()),
        'evaluator-jobs stops showing "running" after the server finished the jobs', { timeout: 10_000 });
      await checked.shot('jobs-done');
    }
  });
});
