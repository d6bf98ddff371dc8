// Browser tests of smart search, the 办事指南 guide page, staff editing and
// 搜索管理, against the real isle server (see server.mjs).
// Run: node --test tests/web/      Screenshots: tests/web/out/*.png
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, openPage, loginAs } from './server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'out');

// Expected items for the three typed queries, copied from the development query
// set (shared/data/search/dev-queries.tsv, columns query/kind/expected_codes).
// The set has no row for the bare "shebao"; the test types "shebao" (a partial
// pinyin word, checked for suggestions only) and goes on to "shebaoka", whose
// row it uses. Only these three rows are used: the test must not tune to the set.
const DEV = {
  老人证: ['330900-MZ-300010'],
  shebaoka: ['330900-RS-200021', '330902-RS-200022', '330900-RS-200023'],
  sbk: ['330900-RS-200021', '330902-RS-200022', '330900-RS-200023'],
};
const DEV_TSV = path.resolve(HERE, '..', '..', '..', 'shared', 'data', 'search', 'dev-queries.tsv');

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
  assert.equal(res.status, 200, `GET ${p}`);
  return res.json();
}

const login = (page, who) => loginAs(page, srv.url, who);

const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
const shownCodes = (page) => page.locator('#results .result').evaluateAll((els) => els.map((e) => e.dataset.code));
const optionCodes = (page, id) => page.locator(`#${id}-list [role=option]`).evaluateAll((els) => els.map((e) => e.dataset.code));

test('the expected codes used here match the development query set', { skip: !existsSync(DEV_TSV) && 'shared/ not beside the repository' }, () => {
  const rows = new Map(
    readFileSync(DEV_TSV, 'utf8')
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .map(([q,, codes]) => [q, codes.split(',')]),
  );
  for (const [q, codes] of Object.entries(DEV)) assert.deepEqual(codes, rows.get(q), `dev-queries.tsv row for ${q}`);
});

test('home search box: colloquial, pinyin and initials give live suggestions and the right results', async (t) => {
  const { page, assertClean } = await open(t);
  for (const [typed, key, first] of [
    ['老人证', '老人证', ''],
    ['ka', 'shebaoka', 'shebao'], // "shebao" first (suggestions only), then "ka"
    ['sbk', 'sbk', ''],
  ]) {
    const expected = DEV[key];
    await page.goto(`${srv.url}/`);
    const input = page.locator('#home-q');
    assert.equal(await input.getAttribute('role'), 'combobox');
    assert.equal(await input.getAttribute('aria-expanded'), 'false');
    const opts = page.locator('#home-q-list [role=option]');
    if (first) {
      await input.pressSequentially(first, { delay: 30 });
      await opts.first().waitFor();
      assert.ok((await opts.count()) > 0, `suggestions for the partial pinyin "${first}"`);
    }
    await input.pressSequentially(typed, { delay: 30 });
    // Suggestions follow the typing (debounced, stale answers dropped).
    await page.waitForFunction(
      ([want]) => [...document.querySelectorAll('#home-q-list [role=option]')].some((o) => want.includes(o.dataset.code)),
      [expected],
    );
    assert.equal(await input.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.locator('#home-q-list').getAttribute('role'), 'listbox');
    const sugg = await optionCodes(page, 'home-q');
    assert.ok(sugg.length <= 10, 'a short list');
    assert.ok(expected.some((c) => sugg.includes(c)), `suggestions for ${key} (${sugg}) include one of ${expected}`);
    if (key === 'sbk') await page.screenshot({ path: path.join(OUT, 'search-suggest.png') });

    // Enter without choosing a suggestion searches.
    await input.press('Enter');
    await page.waitForURL(/\/search\?q=/);
    assert.equal(new URL(page.url()).searchParams.get('q'), first + typed);
    await page.locator('#results .result').first().waitFor();
    const codes = await shownCodes(page);
    const top5 = codes.slice(0, 5);
    for (const c of expected) assert.ok(top5.includes(c), `${key}: ${c} in the top 5 (${top5})`);
    // The page shows what the API answers, in its order.
    const api = await apiJson(`/api/v1/search?q=${encodeURIComponent(first + typed)}&limit=10`);
    assert.deepEqual(codes, api.items.map((x) => x.code), 'results in the API\'s order');
    assert.match(await page.locator('#result-count').textContent(), new RegExp(`找到 ${api.total} 个`));
    if (key === 'sbk') {
      assert.equal(await page.locator('[style]').count(), 0, 'no inline style attributes');
      await page.screenshot({ path: path.join(OUT, 'search.png'), fullPage: true });
    }
  }

  // Keyboard: ↓ makes the first option active (aria-activedescendant), Enter opens it.
  await page.goto(`${srv.url}/`);
  const input = page.locator('#home-q');
  await input.pressSequentially('老人证', { delay: 30 });
  await page.locator('#home-q-list [role=option]').first().waitFor();
  await input.press('ArrowDown');
  const first = page.locator('#home-q-list [role=option]').first();
  assert.equal(await input.getAttribute('aria-activedescendant'), await first.getAttribute('id'));
  assert.equal(await first.getAttribute('aria-selected'), 'true');
  const code = await first.getAttribute('data-code');
  await input.press('Escape');
  assert.equal(await input.getAttribute('aria-expanded'), 'false', 'Esc closes the list');
  await input.press('ArrowDown');
  assert.equal(await input.getAttribute('aria-expanded'), 'true', '↓ reopens it');
  await input.press('Enter');
  await page.waitForURL(new RegExp(`/items/${code}$`));
  await page.locator('#guide-title').waitFor();
  await assertClean();
});

test('search page: highlights, badges, facets and filters in the URL, paging, empty state', async (t) => {
  const { page, assertClean } = await open(t);
  const q = '营业执照';
  await page.goto(`${srv.url}/search?q=${encodeURIComponent(q)}`);
  await page.locator('#results .result').first().waitFor();
  const api = await apiJson(`/api/v1/search?q=${encodeURIComponent(q)}&limit=10`);
  assert.ok(api.total > 1, 'several items match');
  assert.deepEqual(await shownCodes(page), api.items.map((x) => x.code));
  // Highlights: the <mark> split of the API's highlight, as elements, no other markup.
  const hl = api.items.find((x) => x.highlight && /<mark>/.test(x.highlight.name || ''));
  if (hl) {
    const li = page.locator(`#results .result[data-code="${hl.code}"]`);
    assert.ok((await li.locator('.result-name mark').count()) > 0, 'highlighted name');
    assert.equal(await li.locator('.result-name').textContent(), hl.name, 'the visible name is the item name');
  }
  // Badges follow the item's facts.
  for (const it of api.items) {
    const badges = await page.locator(`#results .result[data-code="${it.code}"] .badge`).allTextContents();
    assert.equal(badges.includes('全程网办'), it.online_depth === 4, `${it.code} 全程网办`);
    assert.equal(badges.includes('告知承诺'), Boolean(it.commitment), `${it.code} 告知承诺`);
    assert.equal(badges.includes('秒办'), Boolean(it.instant), `${it.code} 秒办`);
    assert.ok(badges.includes(Number(it.promise_days) === 0 ? '即办' : `承诺 ${it.promise_days} 个工作日`), `${it.code} 时限`);
  }

  // A department facet narrows the results; the choice is in the URL.
  const facet = page.locator('.facet-link[data-facet="department"]').first();
  const dept = await facet.getAttribute('data-value');
  assert.ok(dept in api.facets.department, 'facet values are the API\'s');
  assert.equal(await facet.locator('.facet-count').textContent(), String(api.facets.department[dept]));
  await facet.click();
  await page.waitForURL(/department=/);
  assert.equal(new URL(page.url()).searchParams.get('department'), dept);
  await page.locator('.facet-link.is-on').waitFor();
  const apiD = await apiJson(`/api/v1/search?q=${encodeURIComponent(q)}&limit=10&department=${encodeURIComponent(dept)}`);
  await page.waitForFunction((n) => document.querySelectorAll('#results .result').length === n, apiD.items.length);
  assert.deepEqual(await shownCodes(page), apiD.items.map((x) => x.code));
  for (const d of await page.locator('#results .result-dept').allTextContents()) assert.equal(d, dept);
  await page.locator('.chips a', { hasText: dept }).click(); // remove the filter chip
  await page.waitForURL((u) => !u.searchParams.has('department'));

  // 秒办 checkbox → instant=1 in the URL, results from the API's instant filter.
  await page.locator('#flag-instant').check();
  await page.waitForURL(/instant=1/);
  await page.locator('#results .result, #results .notice').first().waitFor();
  assert.equal(await page.locator('#flag-instant').isChecked(), true);
  const apiI = await apiJson(`/api/v1/search?q=${encodeURIComponent(q)}&limit=10&instant=true`);
  assert.deepEqual(await shownCodes(page), apiI.items.map((x) => x.code));
  for (const it of apiI.items) assert.equal(it.instant, true);
  // Paging when there is more than a page.
  const many = await apiJson(`/api/v1/search?q=${encodeURIComponent('证明')}&limit=10`);
  if (many.total > 10) {
    await page.goto(`${srv.url}/search?q=${encodeURIComponent('证明')}`);
    await page.locator('.pager a[rel=next]').click();
    await page.waitForURL(/page=2/);
    const p2 = await apiJson(`/api/v1/search?q=${encodeURIComponent('证明')}&limit=10&offset=10`);
    await page.waitForFunction((c) => document.querySelector('#results .result')?.dataset.code === c, p2.items[0].code);
    assert.deepEqual(await shownCodes(page), p2.items.map((x) => x.code));
  }

  // Nothing found: a friendly page pointing to 12345 and 帮办代办. (The engine is
  // typo- and pinyin-tolerant, so even made-up words usually find something; a
  // rare character that is in no item and reads like no item is used.)
  const nothing = '龘龘龘';
  assert.equal((await apiJson(`/api/v1/search?q=${encodeURIComponent(nothing)}`)).total, 0);
  await page.goto(`${srv.url}/search?q=${encodeURIComponent(nothing)}`);
  await page.locator('#empty-state').waitFor();
  assert.equal(await page.locator('#empty-state a[href="tel:12345"]').count(), 1);
  assert.equal(await page.locator('#empty-state a', { hasText: '帮办代办' }).count(), 1);
  await assertClean();
});

test('guide page: 办事指南 with materials and 免提交, printable, 长者模式 and phone', async (t) => {
  const { page, assertClean } = await open(t);
  const code = DEV['老人证'][0];
  const item = await apiJson(`/api/v1/items/${code}`);
  // Reach it the way a resident does: search, then the result.
  await page.goto(`${srv.url}/search?q=${encodeURIComponent('老人证')}`);
  await page.locator(`#results .result[data-code="${code}"] a`).click();
  await page.waitForURL(new RegExp(`/items/${code}$`));
  await page.locator('#guide-title').waitFor();
  assert.equal(await page.locator('#guide-title').textContent(), item.name);
  assert.equal(await page.locator('#item-code').textContent(), code);
  assert.match(await page.locator('.guide-meta').textContent(), new RegExp(item.department));
  assert.equal(await page.title(), `${item.name} · 岛上办 · isle 舟山政务服务`);

  // Key facts.
  const facts = await page.locator('#facts').textContent();
  assert.match(facts, /法定办结时限/);
  assert.match(facts, new RegExp(Number(item.promise_days) === 0 ? '即办' : `${item.promise_days} 个工作日`));
  assert.match(facts, new RegExp(item.fee));

  // Materials: one row per material; 免提交 exactly where an e-licence can be reused.
  const rows = page.locator('#materials-table tbody tr');
  assert.equal(await rows.count(), item.materials.length);
  assert.ok(item.materials.some((m) => m.licence), 'this item has a reusable e-licence');
  for (const [i, m] of item.materials.entries()) {
    const row = rows.nth(i);
    assert.equal(await row.locator('.mat-name').textContent(), m.name);
    const badge = row.locator('.badge-free');
    if (m.licence) {
      assert.equal(await badge.textContent(), '免提交', `${m.name} is 免提交`);
      assert.match(await row.textContent(), new RegExp(`电子证照：${m.licence}`));
      if (m.licence_issuer) assert.match(await row.textContent(), new RegExp(m.licence_issuer.replace(/[()（）]/g, '.')));
    } else {
      assert.equal(await badge.count(), 0, `${m.name} must be submitted`);
    }
    assert.match(await row.textContent(), m.required ? /必需/ : /非必需/);
  }
  assert.equal(await page.locator('.steps > li').count(), item.process.length);
  assert.equal(await page.locator('#sec-faq details').count(), item.faq.length);
  const tel = page.locator('#sec-phone a[href^="tel:"]').first();
  assert.equal(await tel.getAttribute('href'), `tel:${item.phone.match(/[\d-]+/)[0].replace(/-/g, '')}`);
  assert.equal(await page.locator('#ask-assistant').getAttribute('href'), `/assistant?item=${code}`);
  assert.equal(await page.locator('#edit-item').count(), 0, 'no 编辑 for residents');

  // 在线申请 leads to the application for items that take online applications;
  // 预约帮办代办 books an agent for this item.
  const apply = page.locator('.guide-actions a', { hasText: '在线申请' });
  if (Number(item.online_depth) >= 2) {
    assert.equal(await apply.getAttribute('href'), `/apply/${code}`);
    assert.equal(await apply.getAttribute('aria-disabled'), null);
  } else {
    assert.equal(await apply.getAttribute('aria-disabled'), 'true');
  }
  const assist = page.locator('.guide-actions a', { hasText: '预约帮办代办' });
  assert.equal(await assist.getAttribute('href'), `/assist/new?item=${code}`);
  assert.equal(await assist.getAttribute('aria-disabled'), null);

  // Print: navigation and buttons hidden, the guide and its materials kept.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('#site-header').isVisible(), false, 'header hidden in print');
  assert.equal(await page.locator('.guide-actions').isVisible(), false, 'buttons hidden in print');
  assert.equal(await page.locator('#print-guide').isVisible(), false);
  assert.ok(await page.locator('#materials-table').isVisible(), 'materials printed');
  await page.emulateMedia({ media: 'screen' });
  assert.equal(await page.locator('[style]').count(), 0, 'no inline style attributes');
  await page.screenshot({ path: path.join(OUT, 'guide.png'), fullPage: true });

  // 长者模式.
  await page.locator('#elder-toggle').click();
  const px = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  assert.ok(px >= 22, `elder root font ${px}px`);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll in 长者模式');
  for (const b of await page.locator('.guide-actions .btn').all()) {
    const bb = await b.boundingBox();
    assert.ok(bb.height >= 48, `button ${bb.height}px tall in 长者模式`);
  }
  await page.screenshot({ path: path.join(OUT, 'guide-elder.png'), fullPage: true });
  await assertClean();
});

test('guide page on a phone (375x812): materials as cards, no sideways scroll', async (t) => {
  const { page, assertClean } = await open(t, { viewport: { width: 375, height: 812 } });
  const code = '330900-GA-100001'; // 出生登记: several e-licence materials
  const item = await apiJson(`/api/v1/items/${code}`);
  await page.goto(`${srv.url}/items/${code}`);
  await page.locator('#materials-table').waitFor();
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll');
  assert.equal(await page.locator('#materials-table thead').isVisible(), false, 'header row folded into the cards');
  assert.equal(await page.locator('#materials-table .badge-free').count(), item.materials.filter((m) => m.licence).length);
  if (item.bundles && item.bundles.length) {
    assert.deepEqual(await page.locator('.bundle-name').allTextContents(), item.bundles.map((b) => b.name));
  }
  await page.screenshot({ path: path.join(OUT, 'guide-phone.png'), fullPage: true });
  await assertClean();
});

test('staff edits an item: field errors at the right input, phone saved, version bumps', async (t) => {
  const { page, assertClean } = await open(t);
  const code = DEV['老人证'][0];
  await login(page, 'staff');
  await page.goto(`${srv.url}/items/${code}`);
  await page.locator('#edit-item').click();
  await page.waitForURL(new RegExp(`/items/${code}/edit$`));
  const form = page.locator('#item-form');
  await form.waitFor();
  await page.locator('#version-list .version').first().waitFor();
  const v0 = Number(await page.locator('#version-no').textContent());
  assert.ok(v0 >= 1);

  // The API names "materials[0].licence": the message lands in row 1's licence input.
  const lic = form.locator('input[name="materials[0].licence"]');
  const oldLic = await lic.inputValue();
  await lic.fill('不存在的证照');
  await form.locator('#save-item').click();
  const licErr = lic.locator('xpath=..').locator('.field-error');
  await licErr.waitFor();
  assert.match(await licErr.textContent(), /证照/);
  assert.equal(await lic.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'materials[0].licence', 'focus on the bad input');
  await lic.fill(oldLic);

  // Add a material row, then remove it again: names stay materials[i].*.
  const before = await form.locator('.mat-row').count();
  await page.locator('#add-material').click();
  assert.equal(await form.locator('.mat-row').count(), before + 1);
  assert.equal(await form.locator(`input[name="materials[${before}].name"]`).count(), 1);
  await form.locator('.mat-row').last().locator('.mat-remove').click();
  assert.equal(await form.locator('.mat-row').count(), before);

  // A required field left empty is caught next to it.
  const phone = form.locator('input[name=phone]');
  await phone.fill('');
  await form.locator('#save-item').click();
  await phone.locator('xpath=..').locator('.field-error:not([hidden])').waitFor();

  const newPhone = '0580-2281234';
  await phone.fill(newPhone);
  await form.locator('#save-item').click();
  await form.locator('.form-alert.ok').waitFor();
  assert.match(await form.locator('.form-alert.ok').textContent(), new RegExp(`第 ${v0 + 1} 版`));
  assert.equal(Number(await page.locator('#version-no').textContent()), v0 + 1, 'version bumped');
  await page.waitForFunction((v) => document.querySelector('#version-list .version')?.dataset.version === String(v), v0 + 1);
  assert.match(await page.locator('#version-list .version').first().textContent(), /咨询电话/);
  assert.match(await page.locator('#version-list .version').first().textContent(), /staff/);
  const saved = await apiJson(`/api/v1/items/${code}`);
  assert.equal(saved.phone, newPhone);
  assert.equal(saved.version, v0 + 1);

  await page.locator('a', { hasText: '查看办事指南' }).first().click();
  await page.waitForURL(new RegExp(`/items/${code}$`));
  await page.locator('#sec-phone a[href="tel:05802281234"]').waitFor();
  await assertClean();
});

test('citizens cannot open the editor', async (t) => {
  const { page } = await open(t);
  await login(page, 'citizen');
  await page.goto(`${srv.url}/items/330900-MZ-300010/edit`);
  await page.locator('h1', { hasText: '无权访问' }).waitFor();
  assert.equal(await page.locator('#nav-list a', { hasText: '搜索管理' }).count(), 0);
});

test('搜索管理: a zero-result query becomes a synonym in one click', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'staff');
  const cj = await page.context().cookies();
  const cookie = cj.map((c) => `${c.name}=${c.value}`).join('; ');
  // A word that finds nothing: a rare character in no item, with no reading
  // shared with any item (the engine matches homophones and pinyin).
  const word = '龘龘';
  const none = await apiJson(`/api/v1/search?q=${encodeURIComponent(word)}`);
  assert.equal(none.total, 0, `${word} finds nothing yet`);

  await page.locator('#nav-list a', { hasText: '搜索管理' }).click();
  await page.waitForURL(/\/admin\/search$/);
  await page.locator('#synonyms-table tbody tr').first().waitFor();
  const row = page.locator(`#zero-table tr[data-query="${word}"]`);
  await row.waitFor();
  await row.locator('.add-syn').click();
  const form = page.locator('#synonym-form');
  assert.equal(await form.locator('input[name=term]').inputValue(), word, 'term filled from the query');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'canonical', 'focus on the canonical wording');
  await form.locator('input[name=canonical]').fill('社会保障卡');
  await form.locator('button[type=submit]').click();
  await page.locator('.status-region .notice-ok').waitFor();
  const added = page.locator(`#synonyms-table tr[data-term="${word}"]`);
  await added.waitFor();
  assert.match(await added.textContent(), /社会保障卡/);
  await page.screenshot({ path: path.join(OUT, 'admin-search.png'), fullPage: true });

  // The synonym takes effect at once.
  const now = await apiJson(`/api/v1/search?q=${encodeURIComponent(word)}`, { headers: { cookie } });
  assert.ok(now.total > 0, `${word} now finds items`);
  assert.ok(now.items.slice(0, 5).some((x) => DEV.sbk.includes(x.code)), 'the 社保卡 items');

  // Delete it again.
  page.once('dialog', (d) => d.accept());
  await added.locator('button', { hasText: '删除' }).click();
  await page.locator(`#synonyms-table tr[data-term="${word}"]`).waitFor({ state: 'detached' });
  await assertClean();
});

test('搜索管理 for a supervisor: zero-result report only, no synonym editing', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'supervisor');
  assert.ok(await page.locator('#nav-list a', { hasText: '搜索管理' }).count(), 'nav item shown');
  await page.goto(`${srv.url}/admin/search`);
  await page.locator('#zero-box .notice, #zero-table').first().waitFor();
  assert.equal(await page.locator('#synonym-form').count(), 0, 'no add form');
  assert.equal(await page.locator('.add-syn').count(), 0, 'no add buttons');
  await assertClean();
});
