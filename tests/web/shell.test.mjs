// Browser tests of the web shell against the real isle server (see server.mjs).
// Run: node --test tests/web/      Screenshots: tests/web/out/*.png
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PASSWORD = 'Zhoushan@2026';

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

/** A fresh context + page. Console errors, page errors and CSP violations are
 *  collected; the expected "Failed to load resource" lines of API 401/4xx answers
 *  are not (the app asks GET /api/v1/session while anonymous on purpose). */
async function open(t, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  t.after(async () => {
    await context.close();
  });
  return {
    page,
    context,
    assertClean() {
      assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
    },
  };
}

async function apiJson(p) {
  const res = await fetch(srv.url + p);
  assert.equal(res.status, 200, `GET ${p}`);
  return res.json();
}

const login = (page, who) => loginAs(page, srv.url, who, { visible: true });

/** GB 11643 check digit for the first 17 digits. */
function idWithCheck(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(first17[i]) * w[i];
  return first17 + '10X98765432'[s % 11];
}

test('home page renders the 36 towns from the API and a town\'s stations', async (t) => {
  const { page, assertClean } = await open(t);
  const towns = (await apiJson('/api/v1/places/towns')).items;
  assert.equal(towns.length, 36, 'the API lists 36 towns');

  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const res = await page.goto(`${srv.url}/`);
  assert.match(res.headers()['content-security-policy'] || '', /default-src 'self'/, 'served with the strict CSP');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  for (const sel of ['header', 'nav', 'main#main', 'footer']) {
    assert.equal(await page.locator(sel).count(), 1, `landmark ${sel}`);
  }
  assert.equal(await page.locator('a.skip-link').getAttribute('href'), '#main');
  await page.locator('.town').first().waitFor();

  const shown = await page.locator('.town .town-name').allTextContents();
  assert.equal(shown.length, 36, '36 town buttons');
  assert.deepEqual([...shown].sort(), towns.map((x) => x.name).sort(), 'town names come from the API');
  // Anonymous navigation: 首页, 服务网点, 智能客服 and 登录 / 注册.
  assert.deepEqual(await page.locator('#nav-list a').allTextContents(), ['首页', '服务网点', '公共资源交易', '证明核验', '智能客服']);
  await page.locator('#account a', { hasText: '登录' }).waitFor();
  await page.locator('#account a', { hasText: '注册' }).waitFor();
  assert.match(await page.locator('#home-q').getAttribute('placeholder'), /老人证/);

  // Pick the town with the most stations and compare with the API.
  const town = [...towns].sort((a, b) => (b.stations || 0) - (a.stations || 0))[0];
  const btn = page.locator(`.town[data-code="${town.code}"]`);
  await btn.click();
  assert.equal(await btn.getAttribute('aria-pressed'), 'true');
  await page.locator('#stations-title').waitFor();
  assert.match(await page.locator('#stations-title').textContent(), new RegExp(town.name));
  const st = await apiJson(`/api/v1/places/stations?town=${encodeURIComponent(town.code)}&limit=200`);
  assert.ok(st.items.length > 0, `the API has stations for ${town.name}`);
  const names = await page.locator('#stations-panel .station-name').allTextContents();
  assert.deepEqual(names, st.items.map((s) => s.name), 'stations shown are the API\'s');
  // (checked before any screenshot: Playwright itself sets style="" on the focused input to hide the caret)
  assert.equal(await page.locator('[style]').count(), 0, 'no inline style attributes');
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violations');
  await page.screenshot({ path: path.join(OUT, 'home.png'), fullPage: true });

  // Submitting the search box goes to /search?q= with the query in the heading
  // (the results themselves are covered by search.test.mjs).
  await page.locator('#home-q').fill('老人证');
  await page.locator('#home-q').press('Enter');
  await page.waitForURL(/\/search\?q=/);
  assert.equal(new URL(page.url()).searchParams.get('q'), '老人证');
  assert.equal(await page.locator('h1 .query').textContent(), '老人证');
  await page.locator('#results .result, #results .empty-state, #results .notice').first().waitFor();
  // Direct load of a deep link (server answers index.html for extension-less paths).
  await page.goto(`${srv.url}/places?town=${encodeURIComponent(town.code)}`);
  await page.locator('.places-list .station').first().waitFor();
  assert.equal(await page.locator('.places-list .station').count(), Math.min(st.items.length, 30));
  assertClean();
});

test('citizen logs in, sees the display name in the header, /me, and is kept out of admin pages', async (t) => {
  const { page, assertClean } = await open(t);
  // Wrong password: the API's message is shown, no login happens.
  await page.goto(`${srv.url}/login`);
  await page.getByLabel('账号').fill('citizen'); // the <label> is wired to the input
  await page.locator('#login-form input[name=password]').fill('wrong-password');
  await page.locator('#login-form button[type=submit]').click();
  const alert = page.locator('#login-form .form-alert:not([hidden]), #login-form .field-error:not([hidden])').first();
  await alert.waitFor();
  assert.ok((await alert.textContent()).trim().length > 0, 'an error message is shown');
  assert.equal(await page.locator('#who-name').count(), 0);

  await page.locator('#login-form input[name=password]').fill(PASSWORD);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#who-name').waitFor();
  const me = await page.request.get(`${srv.url}/api/v1/me`);
  assert.equal(me.status(), 200);
  const mej = await me.json();
  const u = mej.user || mej;
  assert.equal(u.login, 'citizen');
  assert.equal((await page.locator('#who-name').textContent()).trim(), u.display_name);
  assert.equal((await page.locator('#account .role-badge').textContent()).trim(), u.role_name);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.deepEqual(await page.locator('#nav-list a').allTextContents(), ['首页', '我的', '我的办件', '帮我办', '我的证明', '智能客服']);
  assert.match(await page.locator('h1').textContent(), new RegExp(u.display_name));

  await page.locator('#nav-list a[href="/me"]').click();
  await page.waitForURL(/\/me$/);
  await page.locator('#profile').waitFor();
  assert.match(await page.locator('#profile').textContent(), /citizen/);

  // Change-password form: a wrong current password is reported by the API.
  await page.locator('#password-form input[name=old_password]').fill('not-my-password');
  await page.locator('#password-form input[name=new_password]').fill('Another@2026x');
  await page.locator('#password-form input[name=new_password2]').fill('Another@2026x');
  await page.locator('#password-form button[type=submit]').click();
  const pwErr = page.locator('#password-form .form-alert:not([hidden]), #password-form .field-error:not([hidden])').first();
  await pwErr.waitFor();
  assert.ok((await pwErr.textContent()).trim().length > 0);

  await page.goto(`${srv.url}/admin/users`);
  await page.locator('h1', { hasText: '无权访问' }).waitFor();

  await page.locator('#account button', { hasText: '退出' }).click();
  await page.locator('#account a', { hasText: '登录' }).waitFor();
  assert.equal((await page.request.get(`${srv.url}/api/v1/me`)).status(), 401, 'session ended on the server');
  // A protected page now sends us to /login with next=.
  await page.goto(`${srv.url}/me`);
  await page.waitForURL(/\/login\?next=%2Fme/);
  assertClean();
});

test('长者模式 enlarges the root font, persists across reload, applies before first paint', async (t) => {
  const { page, assertClean } = await open(t);
  const rootPx = () => page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  await page.goto(`${srv.url}/`);
  await page.locator('.town').first().waitFor();
  const toggle = page.locator('#elder-toggle');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  const base = await rootPx();

  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  const big = await rootPx();
  assert.ok(big >= 22, `elder root font-size ${big}px ≥ 22px`);
  assert.ok(big > base, `grows from ${base}px`);
  assert.equal(await page.evaluate(() => localStorage.getItem('isle.elder')), '1');
  const box = await toggle.boundingBox();
  assert.ok(box.height >= 48 && box.width >= 48, `toggle target ${box.width}x${box.height} ≥ 48px`);
  for (const b of await page.locator('.town').all()) {
    const bb = await b.boundingBox();
    assert.ok(bb.height >= 48, `town button height ${bb.height} ≥ 48 in 长者模式`);
  }

  // Record whether <html> already had the class when <body> was first inserted,
  // i.e. before anything could be painted.
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.body) {
        window.__elderAtBody = document.documentElement.classList.contains('elder');
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.reload();
  await page.locator('.town').first().waitFor();
  assert.equal(await page.evaluate(() => window.__elderAtBody), true, 'elder class present before <body>');
  assert.equal(await rootPx(), big, 'setting persists across reload');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await page.screenshot({ path: path.join(OUT, 'home-elder.png'), fullPage: true });

  await toggle.click();
  assert.equal(await rootPx(), base, 'back to the standard size');
  assert.equal(await page.evaluate(() => localStorage.getItem('isle.elder')), null);
  assertClean();
});

test('phone viewport (375x812): menu button, no horizontal overflow', async (t) => {
  const { page, assertClean } = await open(t, { viewport: { width: 375, height: 812 } });
  await page.goto(`${srv.url}/`);
  await page.locator('.town').first().waitFor();
  const menu = page.locator('#menu-toggle');
  assert.ok(await menu.isVisible(), 'menu button shown on a phone');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.locator('#nav-list a', { hasText: '服务网点' }).isVisible(), false, 'nav collapsed');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scroll (overflow ${overflow}px)`);
  for (const b of (await page.locator('.town').all()).slice(0, 6)) {
    const bb = await b.boundingBox();
    assert.ok(bb.height >= 44, `town button ${bb.height}px tall`);
  }
  await page.screenshot({ path: path.join(OUT, 'phone.png'), fullPage: true });

  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  const placesLink = page.locator('#nav-list a', { hasText: '服务网点' });
  assert.ok(await placesLink.isVisible(), 'nav shown after opening the menu');
  await page.screenshot({ path: path.join(OUT, 'phone-menu.png') });
  await page.keyboard.press('Escape');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  await menu.click();
  await placesLink.click();
  await page.waitForURL(/\/places$/);
  assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'menu closes on navigation');
  await page.locator('.places-list .station').first().waitFor();
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow2 <= 0, `服务网点 fits the phone (overflow ${overflow2}px)`);
  assertClean();
});

test('admin opens 审计日志, sees rows and verifies the hash chain', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'admin');
  assert.deepEqual(await page.locator('#nav-list a').allTextContents(), ['首页', '我的', '用户管理', '审计日志', '搜索管理', '数智分析', '防围串标']);
  await page.locator('#nav-list a', { hasText: '审计日志' }).click();
  await page.waitForURL(/\/admin\/audit$/);
  await page.locator('#audit-table tbody tr').first().waitFor();
  const rows = await page.locator('#audit-table tbody tr').count();
  assert.ok(rows > 0, 'audit rows shown');

  const api = await (await page.request.get(`${srv.url}/api/v1/audit?limit=50`)).json();
  assert.equal(rows, api.items.length, 'one table row per audit item');
  assert.equal(await page.locator('#audit-table tbody tr').first().getAttribute('data-id'), String(api.items[0].id));

  await page.locator('#verify-chain').click();
  const verdict = page.locator('#verify-result .notice');
  await verdict.waitFor();
  const v = await (await page.request.get(`${srv.url}/api/v1/audit/verify`)).json();
  assert.equal(v.ok, true, 'demo chain is intact');
  assert.match(await verdict.textContent(), /哈希链完整/);
  assert.match(await verdict.textContent(), /\d+ 条记录/);
  await page.screenshot({ path: path.join(OUT, 'admin-audit.png'), fullPage: true });

  // Filter by an action that exists: every row shown carries it.
  const action = api.items[0].action;
  await page.locator('.filters input[name=action]').fill(action);
  await page.locator('.filters button[type=submit]').click();
  await page.waitForURL(/action=/);
  await page.waitForFunction((a) => {
    const c = [...document.querySelectorAll('#audit-table tbody code.action')];
    return c.length > 0 && c.every((e) => e.textContent === a);
  }, action);
  const actions = await page.locator('#audit-table tbody code.action').allTextContents();
  assert.ok(actions.length > 0 && actions.every((a) => a === action), `only ${action} rows`);

  // Paging with next_before: 10 rows a page, 下一页 shows older rows, 上一页 comes back.
  const ids = () =>
    page.locator('#audit-table tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)));
  await page.goto(`${srv.url}/admin/audit?limit=10`);
  await page.locator('#audit-table tbody tr').first().waitFor();
  const p1 = await ids();
  assert.equal(p1.length, 10, 'a page of 10');
  const api1 = await (await page.request.get(`${srv.url}/api/v1/audit?limit=10`)).json();
  assert.ok(api1.next_before, 'the API gives a cursor for the next page');
  await page.locator('#audit-next').click();
  await page.waitForFunction((max) => {
    const trs = [...document.querySelectorAll('#audit-table tbody tr')];
    return trs.length > 0 && trs.every((tr) => Number(tr.dataset.id) < max);
  }, Math.min(...p1));
  const api2 = await (await page.request.get(`${srv.url}/api/v1/audit?limit=10&before=${api1.next_before}`)).json();
  assert.deepEqual(await ids(), api2.items.map((x) => x.id), 'page 2 is the API\'s next_before page');
  await page.locator('#audit-prev').click();
  await page.waitForFunction((first) => document.querySelector('#audit-table tbody tr')?.dataset.id === String(first), p1[0]);
  assert.deepEqual(await ids(), p1, '上一页 returns to page 1');

  // Date range (Asia/Shanghai days): today has rows, a day in 2000 has none.
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  await page.goto(`${srv.url}/admin/audit?from=${today}&to=${today}`);
  await page.locator('#audit-table tbody tr').first().waitFor();
  await page.goto(`${srv.url}/admin/audit`);
  await page.locator('#audit-table').waitFor();
  await page.locator('.filters input[name=from]').fill('2000-01-01');
  await page.locator('.filters input[name=to]').fill('2000-01-02');
  await page.locator('.filters button[type=submit]').click();
  await page.waitForURL(/from=2000-01-01/);
  await page.locator('.table-box .notice', { hasText: '没有符合条件' }).waitFor();
  assertClean();
});

test('admin manages users: list, role filter, create with a field error, disable', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'admin');
  await page.goto(`${srv.url}/admin/users`);
  await page.locator('#users-table tbody tr').first().waitFor();
  assert.ok(await page.locator('#users-table tr[data-login="citizen"]').count(), 'citizen listed');

  await page.locator('.filters select[name=role]').selectOption('citizen');
  await page.waitForURL(/role=citizen/);
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('#users-table tbody .role-badge')];
    return b.length > 0 && b.every((e) => e.dataset.role === 'citizen');
  });
  const badges = await page.locator('#users-table tbody .role-badge').evaluateAll((els) => els.map((e) => e.dataset.role));
  assert.ok(badges.length > 0 && badges.every((r) => r === 'citizen'), 'role filter applied');

  // Duplicate login → the API's message shown next to the 账号 field.
  await page.locator('#create-user').click();
  const form = page.locator('#create-user-form');
  await form.locator('input[name=login]').fill('citizen');
  await form.locator('input[name=display_name]').fill('重复账号');
  await form.locator('input[name=password]').fill(PASSWORD);
  await form.locator('button[type=submit]').click();
  const anyErr = form.locator('.field-error:not([hidden]), .form-alert:not([hidden])').first();
  await anyErr.waitFor();
  assert.ok((await anyErr.textContent()).trim().length > 0);

  const newLogin = `web${Date.now() % 1e8}`;
  await form.locator('input[name=login]').fill(newLogin);
  await form.locator('input[name=display_name]').fill('测试渔民');
  await form.locator('select[name=role]').selectOption('citizen');
  await form.locator('button[type=submit]').click();
  await page.locator('.status-region .notice-ok').waitFor();
  const row = page.locator(`#users-table tr[data-login="${newLogin}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /测试渔民/);
  await page.screenshot({ path: path.join(OUT, 'admin-users.png'), fullPage: true });

  page.once('dialog', (d) => d.accept());
  await row.locator('button', { hasText: '停用' }).click();
  await page.locator(`#users-table tr[data-login="${newLogin}"].row-disabled`).waitFor();
  const users = await (await page.request.get(`${srv.url}/api/v1/users?q=${newLogin}`)).json();
  assert.equal(users.items.find((x) => x.login === newLogin).disabled, true, 'disabled on the server');
  assertClean();
});

test('register: API validation shown at the field, then a new citizen lands on /me', async (t) => {
  const { page, assertClean } = await open(t);
  await page.goto(`${srv.url}/register`);
  const form = page.locator('#register-form');
  const login = `reg${Date.now() % 1e8}`;
  const good = idWithCheck('33090219900307001');
  const bad = good.slice(0, 17) + (good[17] === '0' ? '1' : '0');
  await form.locator('input[name=login]').fill(login);
  await form.locator('input[name=display_name]').fill('海岛居民');
  await form.locator('input[name=password]').fill(PASSWORD);
  await form.locator('input[name=password2]').fill(PASSWORD);
  await form.locator('input[name=id_number]').fill(bad);
  await form.locator('button[type=submit]').click();
  const idErr = form.locator('input[name=id_number] ~ .field-error');
  await idErr.waitFor();
  assert.ok((await idErr.textContent()).trim().length > 0, 'ID number error next to the field');
  assert.equal(await form.locator('input[name=id_number]').getAttribute('aria-invalid'), 'true');

  await form.locator('input[name=id_number]').fill(good);
  await form.locator('button[type=submit]').click();
  await page.waitForURL(/\/me$/);
  await page.locator('#profile').waitFor();
  assert.equal((await page.locator('#who-name').textContent()).trim(), '海岛居民');
  assert.match(await page.locator('#profile').textContent(), new RegExp(login));
  assertClean();
});
