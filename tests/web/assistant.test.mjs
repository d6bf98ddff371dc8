// Browser tests of the 智慧客服 chat page (/assistant) against the real isle
// server (see server.mjs): from a guide page's 问问智能客服 to an answer about
// materials that names the item's real required materials and links back;
// alternatives as buttons; the honest "I do not know" with a phone link;
// 长者模式 and a phone screen. Screenshots: tests/web/out/assistant*.png
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, openPage } from './server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'out');
const BIRTH = '330900-GA-100001'; // 出生登记: required materials, several from e-licences

let srv;
let browser;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const open = (t, opts) => openPage(browser, t, opts);

async function apiJson(p, init) {
  const res = await fetch(srv.url + p, init);
  assert.equal(res.status, 200, p);
  return res.json();
}

/** No inline style attributes (the CSP forbids them). Checked before screenshots:
 *  Playwright's screenshot leaves an empty style="" on the focused input. */
async function assertNoInlineStyles(page) {
  assert.equal(await page.locator('[style]').count(), 0, 'no inline style attributes');
}

const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** Type a question, send it, and wait for the n-th answer (1-based); returns its locator. */
async function ask(page, question, n) {
  await page.locator('#ask-input').fill(question);
  await page.locator('#ask-input').press('Enter');
  const answer = page.locator('#chat-log .chat-bot[data-intent]').nth(n - 1);
  await answer.waitFor();
  return answer;
}

test('guide page → 问问智能客服 → what to bring: real required materials, link back to the guide', async (t) => {
  const { page, assertClean } = await open(t);
  const item = await apiJson(`/api/v1/items/${BIRTH}`);
  const required = item.materials.filter((m) => m.required);
  assert.ok(required.length > 0, 'the item has required materials');

  await page.goto(`${srv.url}/items/${BIRTH}`);
  await page.locator('#ask-assistant').click();
  await page.waitForURL(new RegExp(`/assistant\\?item=${BIRTH}$`));
  // The page sets its title once its module has loaded: wait for it (slow machines).
  await page.waitForFunction(() => document.title.startsWith('智能客服'));
  assert.equal(await page.title(), '智能客服 · 岛上办 · isle 舟山政务服务');
  // The item being asked about is shown and links to its guide.
  const ctxLink = page.locator('#context-item');
  await ctxLink.waitFor();
  assert.equal(await ctxLink.textContent(), item.name);
  assert.equal(await page.locator('#chat-log').getAttribute('aria-live'), 'polite');
  assert.ok((await page.locator('#chat-examples button').count()) >= 3, 'example questions');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'ask-input', 'focus in the question box');

  const answer = await ask(page, '要带啥材料？', 1);
  assert.equal(await answer.getAttribute('data-intent'), 'materials');
  assert.equal(await answer.getAttribute('data-item'), BIRTH);
  const text = await answer.locator('.chat-answer').textContent();
  for (const m of required) assert.ok(text.includes(m.name), `the answer names the required material ${m.name}: ${text}`);
  const free = required.filter((m) => m.licence);
  if (free.length) assert.match(text, /免提交/, 'says which materials come from e-licences');
  for (const m of item.materials.filter((x) => !x.required)) {
    assert.ok(!text.includes(`：${m.name}`) && !text.includes(`、${m.name}`), `optional ${m.name} is not listed as required`);
  }
  assert.equal(await page.locator('#chat-log .chat-user').last().textContent(), '我：要带啥材料？');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'ask-input', 'focus back in the question box');
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, 'assistant.png'), fullPage: true, caret: 'initial' });

  // A follow-up needs no item name: the context stays.
  const fee = await ask(page, '收费吗', 2);
  assert.equal(await fee.getAttribute('data-intent'), 'fee');
  assert.equal(await fee.getAttribute('data-item'), BIRTH);
  assert.match(await fee.locator('.chat-answer').textContent(), new RegExp(item.fee));

  // The answer links back to the guide.
  const link = answer.locator('a.chat-link');
  assert.equal(await link.getAttribute('href'), `/items/${BIRTH}`);
  await link.click();
  await page.waitForURL(new RegExp(`/items/${BIRTH}$`));
  await page.locator('#guide-title').waitFor();
  assert.equal(await page.locator('#guide-title').textContent(), item.name);
  await assertClean();
});

test('examples, alternatives as buttons, and an honest "I do not know" with the phone number', async (t) => {
  const { page, assertClean } = await open(t);
  await page.goto(`${srv.url}/assistant`);
  await page.locator('#chat-examples button').first().waitFor();
  assert.equal(await page.locator('#chat-context').isVisible(), false, 'no item yet');

  // An example chip asks its question.
  const chip = page.locator('#chat-examples button').first();
  const chipText = await chip.textContent();
  await chip.click();
  const first = page.locator('#chat-log .chat-bot[data-intent]').first();
  await first.waitFor();
  assert.equal(await page.locator('#chat-log .chat-user').first().textContent(), `我：${chipText}`);
  assert.ok(await first.getAttribute('data-item'), 'the example finds an item');

  // A question several items fit: the answer offers the others; one click asks about it instead.
  await page.locator('#context-clear').click();
  const api = await apiJson('/api/v1/assistant', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ question: '残疾人证怎么办理' }),
  });
  assert.ok(api.alternatives.length > 0, 'the API offers alternatives for this question');
  const answer = await ask(page, '残疾人证怎么办理', 2);
  assert.equal(await answer.getAttribute('data-item'), api.item);
  const alts = answer.locator('.chat-alt');
  assert.deepEqual(await alts.evaluateAll((els) => els.map((e) => e.dataset.code)), api.alternatives.map((a) => a.code));
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, 'assistant-alternatives.png'), fullPage: true, caret: 'initial' });
  const alt = api.alternatives[0];
  await alts.first().click();
  const third = page.locator('#chat-log .chat-bot[data-intent]').nth(2);
  await third.waitFor();
  assert.equal(await third.getAttribute('data-item'), alt.code, 'the alternative is answered');
  assert.equal(await third.locator('a.chat-link').getAttribute('href'), `/items/${alt.code}`);
  assert.equal(await page.locator('#context-item').textContent(), alt.name, 'and becomes the item being asked about');

  // Nothing in the catalog: says so and gives a phone number as a tel: link.
  await page.locator('#context-clear').click();
  const none = await ask(page, '明天的天气好不好', 4);
  assert.equal(await none.getAttribute('data-item'), null);
  assert.match(await none.locator('.chat-answer').textContent(), /抱歉/);
  assert.ok((await none.locator('a[href^="tel:"]').count()) >= 1, 'a phone link');
  assert.equal(await none.locator('a.chat-link').count(), 0, 'no guide link when nothing was found');

  // An empty question is caught at the box.
  await page.locator('#ask-send').click();
  await page.locator('#ask-error:not([hidden])').waitFor();
  assert.equal(await page.locator('#ask-input').getAttribute('aria-invalid'), 'true');
  await assertNoInlineStyles(page);
  await assertClean();
});

test('长者模式 and a phone screen: large type, big targets, no sideways scroll', async (t) => {
  const { page, assertClean } = await open(t, { viewport: { width: 375, height: 812 }, elder: true });
  await page.goto(`${srv.url}/assistant?item=${BIRTH}`);
  await page.locator('#context-item').waitFor();
  const px = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  assert.ok(px >= 22, `elder root font ${px}px`);
  const answer = await ask(page, '在哪里办', 1);
  assert.equal(await answer.getAttribute('data-intent'), 'place');
  await ask(page, '怎么办理', 2);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll');
  for (const b of [page.locator('#ask-send'), page.locator('#chat-examples button').first(), page.locator('#context-clear')]) {
    const bb = await b.boundingBox();
    assert.ok(bb.height >= 48, `target ${bb.height}px tall in 长者模式`);
  }
  const input = await page.locator('#ask-input').boundingBox();
  assert.ok(input.width >= 150, `question box ${input.width}px wide on a phone`);
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, 'assistant-elder.png'), fullPage: true, caret: 'initial' });
  await assertClean();
});
