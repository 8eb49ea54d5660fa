// The prompt playground against a fake OpenAI-compatible provider on loopback: the bundled
// `openai` plugin, granted the fake server and the stored key as the Rust e2e tests grant it
// (tests/e2e/providers.rs `prepare`/`configure`), runs a templated chat from the page; the answer,
// usage and span link show up, the provider got the rendered messages and the key (which never
// reaches the page), and the recorded LLM span opens in the trace view.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, launchBrowser, tid, withPage } from './lib/browser.mjs';
import { LLM_MODELS, LlmServer, upperReply, wordCount } from './lib/llm-server.mjs';
import { Ember } from './lib/server.mjs';

/** Key material for the server's secret encryption (≥ 16 characters). */
const EMBER_SECRET = 'ember-browser-passphrase-0123456789-abcdef';
/** The stored OpenAI key: distinctive, so a leak search cannot miss it. */
const OPENAI_KEY = 'sk-ember-browser-openai-4c7e1a9b3d5f';
const SECRET_NAME = 'OPENAI_API_KEY';

const MODEL = LLM_MODELS[0];
const SYSTEM = 'Answer loudly please';
const TEMPLATE = 'Say {{word}}';
const WORD = 'bright pelican';
const RENDERED = `Say ${WORD}`;
const ANSWER = upperReply(RENDERED); // "SAY BRIGHT PELICAN"
const PROMPT_TOKENS = wordCount(SYSTEM) + wordCount(RENDERED); // 6
const COMPLETION_TOKENS = wordCount(ANSWER); // 3
const TOTAL_TOKENS = PROMPT_TOKENS + COMPLETION_TOKENS;
const USAGE_TEXT = `${PROMPT_TOKENS} prompt · ${COMPLETION_TOKENS} completion · ${TOTAL_TOKENS} total`;

let llm;
let ember;
let browser;

before(async () => {
  llm = await LlmServer.start();
  ember = await Ember.start({ name: 'playground', env: { EMBER_SECRET } });
  // What tests/e2e/providers.rs does: store the key, then set the plugin's whole config and
  // grant it the loopback host (a private address) and its own key.
  await ember.ok('PUT', '/v1/secrets', { secrets: [{ key: SECRET_NAME, value: OPENAI_KEY }] });
  await ember.ok('PATCH', '/v1/plugins/openai', {
    config: { base_url: `${llm.baseUrl}/v1` },
    grants: { hosts: ['127.0.0.1'], private_addresses: true, secrets: [SECRET_NAME] },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await ember?.stop();
  await llm?.stop();
});

/** The text of an OpenAI message `content`: a string or text parts. */
const contentText = (content) =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((p) => p?.text ?? '').join('\n') : '';

/** Fails when the key is in the page's text, its markup or any form field's value. */
async function assertNoKey(page, where) {
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(OPENAI_KEY), `the key is in the ${where} page's text`);
  assert.ok(!(await page.content()).includes(OPENAI_KEY), `the key is in the ${where} page's markup`);
  const values = await page.locator('input, textarea, select').evaluateAll((els) => els.map((e) => e.value));
  assert.ok(!values.some((v) => v.includes(OPENAI_KEY)), `the key is in a form field of the ${where} page`);
}

test('run a templated chat in the playground and open its span', async () => {
  await withPage(browser, 'playground run', async (page, checked) => {
    // Every body the page receives, for the leak search.
    const bodies = [];
    page.on('response', async (res) => {
      try {
        bodies.push({ url: res.url(), text: await res.text() });
      } catch {
        /* a redirect or a body already gone */
      }
    });

    await page.goto(ember.url('/playground'));
    const template = page.locator(tid('playground-template'));
    await template.waitFor();

    // A user message with a variable, and a system message moved above it.
    await template.fill(TEMPLATE);
    await page.locator(tid('playground-add-message')).click();
    const blocks = page.locator(tid('playground-message'));
    await eventually(async () => (await blocks.count()) === 2, 'a second playground-message');
    await blocks.nth(1).locator(tid('playground-role')).selectOption('system');
    await blocks.nth(1).locator(tid('playground-message-content')).fill(SYSTEM);
    await blocks.nth(1).getByTitle('Move up').click();
    await eventually(
      async () => (await blocks.evaluateAll((els) => els.map((e) => e.dataset.role))).join() === 'system,user',
      'the messages are ordered system, user',
    );

    // The variable's field appears; fill it.
    const variable = page.locator(tid('playground-variable', '[data-name="word"]'));
    await variable.waitFor();
    assert.equal(await page.locator(tid('playground-variable')).count(), 1, 'one variable: word');
    await variable.fill(WORD);

    // Provider and model: the configured plugin lists the fake server's models through the host.
    const providerSelect = page.locator(tid('playground-provider'));
    await eventually(
      async () => (await providerSelect.locator('option').evaluateAll((els) => els.map((o) => o.value))).includes('openai'),
      'playground-provider offers openai',
    );
    await providerSelect.selectOption('openai');
    const listed = await eventually(async () => {
      const values = await page.locator('#pg-model-list option').evaluateAll((els) => els.map((o) => o.value));
      return values.length === LLM_MODELS.length ? values : null;
    }, "the provider's models are offered");
    assert.deepEqual(listed, LLM_MODELS);
    const listing = llm.requests.find((r) => r.method === 'GET' && r.path === '/v1/models');
    assert.ok(listing, 'the fake server was asked for its models');
    assert.equal(listing.headers.authorization, `Bearer ${OPENAI_KEY}`, 'the models listing carries the key');
    await page.locator(tid('playground-model')).fill(MODEL);
    await checked.shot('ready');

    await page.locator(tid('playground-run')).click();
    const output = page.locator(tid('playground-output'));
    const content = output.locator(tid('playground-content'));
    await content.waitFor();
    assert.equal((await content.innerText()).trim(), ANSWER, 'the answer is the fake server’s, for the rendered template');
    assert.equal((await output.locator(tid('playground-usage')).innerText()).trim(), USAGE_TEXT);
    assert.equal(await output.locator(tid('playground-error')).count(), 0, 'no error shown');
    const link = output.locator(tid('playground-span-link'));
    await link.waitFor();
    await checked.shot('output');

    // What the provider received: one chat, the rendered messages, the key as a bearer token.
    const chats = llm.chats();
    assert.equal(chats.length, 1, `one chat request: ${JSON.stringify(chats.map((c) => c.json))}`);
    const [chat] = chats;
    assert.equal(chat.headers.authorization, `Bearer ${OPENAI_KEY}`);
    assert.equal(chat.json.model, MODEL);
    assert.deepEqual(
      chat.json.messages.map((m) => ({ role: m.role, content: contentText(m.content) })),
      [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: RENDERED },
      ],
    );

    // The key stays on the server.
    await assertNoKey(page, 'playground');
    const leaked = bodies.filter((b) => b.text.includes(OPENAI_KEY)).map((b) => b.url);
    assert.deepEqual(leaked, [], 'no response to the page holds the key');

    // The span link: the playground project's trace, with the span selected.
    const href = new URL(await link.getAttribute('href'), ember.base);
    const match = href.pathname.match(/\/projects\/([^/]+)\/traces\/([^/]+)$/);
    assert.ok(match, `span link ${href}`);
    const traceId = decodeURIComponent(match[2]);
    const spanId = href.searchParams.get('span');
    assert.ok(spanId, `span link ${href} names the span`);
    // The span is stored through the ingest pipeline and the trace view does not poll for a
    // trace it cannot find yet: make sure it is there so that the click cannot race it.
    await ember.waitForTrace(traceId, 1, 20_000);
    const spans = await ember.waitForSpans('playground', 1);
    const stored = spans.find((s) => s.context.span_id === spanId);
    assert.ok(stored, `span ${spanId} stored in the playground project`);
    assert.equal(stored.span_kind, 'LLM');
    assert.equal(stored.attributes['llm.token_count.total'], TOTAL_TOKENS);

    await link.click();
    await page.waitForURL((url) => url.pathname.includes(`/traces/${traceId}`));
    await page.locator(tid('tree-row'), { hasText: 'ChatCompletion' }).waitFor();
    const detail = page.locator(tid('span-detail', `[data-span-id="${spanId}"]`));
    await detail.waitFor();
    await detail.locator(tid('llm-messages')).waitFor();
    const message = (role) => detail.locator(tid('llm-message', `[data-role="${role}"]`));
    await message('system').filter({ hasText: SYSTEM }).waitFor();
    await message('user').filter({ hasText: RENDERED }).waitFor();
    await message('assistant').filter({ hasText: ANSWER }).waitFor();
    assert.equal(await message('user').count(), 1, 'one user message');
    assert.equal(await message('assistant').count(), 1, 'one assistant message');
    assert.ok(!(await message('user').innerText()).includes('{{word}}'), 'the user message is rendered');
    const summary = detail.locator(tid('span-summary'));
    await eventually(async () => (await summary.innerText()).includes(USAGE_TEXT),
      () => `span-summary shows "${USAGE_TEXT}"`);
    assert.ok((await summary.innerText()).includes(MODEL), 'span-summary shows the model');
    await assertNoKey(page, 'trace');
    await checked.shot('trace');

    const late = bodies.filter((b) => b.text.includes(OPENAI_KEY)).map((b) => b.url);
    assert.deepEqual(late, [], 'no response to the page holds the key');
  });
});
