// Browser tests of the public resource trading pages against the real isle server
// (see server.mjs): the public list; trading staff create a draft on /trade/manage,
// announce it, and it appears publicly; an amendment moves the deadline and the
// tender page says so; a new bidder registers its company, pays the deposit on the
// tender page and sees the sealed-bid form with its commitment string; 我的投标
// lists the tender; phone width and 长者模式 on the list, tender and company pages.
// Screenshots: tests/web/out/trade-*.png
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PASSWORD = 'Zhoushan@2026';
const PHONE = { width: 375, height: 812 };
const USCC = '91330921MA2B12345N';
const DAY = 86400 * 1000;

let srv;
let browser;
const made = { id: 0, no: '', title: `岱山县秀山岛环岛公路提升工程 ${Date.now().toString(36)}` };

/** "YYYY-MM-DDTHH:MM" in Beijing time, days from now, for datetime-local inputs. */
const local = (days) => new Date(Date.now() + days * DAY + 8 * 3600 * 1000).toISOString().slice(0, 16);

before(async () => {
  mkdirSync(OUT, { recursive: true });
  process.env.ISLE_TRADE_MIN_NOTICE_DAYS = '0'; // the server inherits it: no 20-day wait
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const open = (t, opts) => openPage(browser, t, opts);
const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
/** The elements sticking out on the right, for the failure message. */
const wide = (page) => page.evaluate(() => [...document.querySelectorAll('main *')]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(-5).map((e) => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`).join('; '));

async function shot(page, name) {
  const bad = await page.locator('[style]:not([style=""])').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
  assert.deepEqual(bad, [], 'no inline style attributes');
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

const login = (page, who) => loginAs(page, srv.url, who);

async function phoneAndElder(page, name) {
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(100);
  assert.ok((await overflowX(page)) <= 0, `${name}: no horizontal scroll on a phone: ${await wide(page)}`);
  await shot(page, `trade-${name}-phone.png`);
  await page.locator('#elder-toggle').click();
  await page.waitForTimeout(100);
  assert.ok((await overflowX(page)) <= 0, `${name}: no horizontal scroll in 长者模式: ${await wide(page)}`);
  await shot(page, `trade-${name}-elder.png`);
  await page.locator('#elder-toggle').click();
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('the public list: filters, cards, tabs', async (t) => {
  const { page, assertClean } = await open(t);
  await page.goto(`${srv.url}/trade`);
  await page.locator('h1', { hasText: '交易公告' }).waitFor();
  await page.locator('#trade-results .trade-list, #trade-results .empty-state').first().waitFor();
  assert.equal(await page.locator('.trade-tabs a[aria-current="page"]').textContent(), '交易公告');
  await shot(page, 'trade-list.png');
  await page.goto(`${srv.url}/trade/results`);
  await page.locator('h1', { hasText: '交易结果' }).waitFor();
  await page.locator('#trade-results .trade-list, #trade-results .empty-state').first().waitFor();
  await shot(page, 'trade-results.png');
  await assertClean();
});

test('staff create a draft, announce it, amend the deadline; the public sees it', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'trading_staff');
  await page.goto(`${srv.url}/trade/manage`);
  await page.locator('#manage-list table, #manage-list .empty-state').first().waitFor();
  await page.locator('#new-tender').click();
  const form = page.locator('#tender-form');
  await form.waitFor();
  await form.locator('[name=kind]').selectOption('works');
  await form.locator('[name=method]').selectOption('composite');
  await form.locator('[name=title]').fill(made.title);
  await form.locator('[name=buyer]').fill('岱山县交通运输局');
  await form.locator('[name=agency]').fill('舟山市公共资源交易代理有限公司');
  await form.locator('[name=budget]').fill('23500000');
  await form.locator('[name=deposit]').fill('500000'); // > 2%: refused at the field
  await form.locator('[name=price_weight]').fill('40');
  await form.locator('[name=tech_weight]').fill('60');
  await form.locator('[name=deadline_at]').fill(local(25));
  await form.locator('[name=evaluation_at]').fill(local(25.1));
  await form.locator('[name=lots]').fill('一标段 路基路面，15000000\n二标段 桥涵，8500000');
  await form.locator('[name=qualification]').fill('公路工程施工总承包二级及以上资质；项目经理须具备公路工程一级建造师。');
  assert.equal(await form.locator('[name=reserve]').isVisible(), false, 'no reserve price for works');
  assert.equal(await form.locator('[name=factor_min]').isVisible(), false, 'no factors for composite');
  await shot(page, 'trade-manage-form.png');
  await page.locator('#save-tender').click();
  const depErr = page.locator('.field', { has: page.locator('[name=deposit]') }).locator('.field-error');
  await depErr.waitFor();
  assert.match(await depErr.textContent(), /2%/);
  await form.locator('[name=deposit]').fill('400000');
  await page.locator('#save-tender').click();
  await page.waitForURL(/\/trade\/manage\?id=\d+/);
  made.id = Number(new URL(page.url()).searchParams.get('id'));
  await page.locator('#manage-detail .trade-status[data-status="draft"]').waitFor();
  made.no = (await page.locator('#manage-detail .trade-no').textContent()).trim();
  assert.match(made.no, /^ZS-GC-\d{4}-\d{4}$/);
  await shot(page, 'trade-manage-draft.png');

  // edit the draft: the form comes back filled in
  await page.locator('#edit-tender').click();
  await page.locator('#tender-form').waitFor();
  assert.equal(await page.locator('#tender-form [name=title]').inputValue(), made.title);
  assert.equal(await page.locator('#tender-form [name=kind]').isDisabled(), true);
  assert.match(await page.locator('#tender-form [name=lots]').inputValue(), /二标段 桥涵，8500000\.00/);
  await page.locator('#tender-form [name=buyer]').fill('岱山县交通运输局（岱山县公路与运输管理中心）');
  await page.locator('#save-tender').click();
  await page.waitForURL(/\/trade\/manage\?id=\d+/);
  await page.locator('#manage-detail', { hasText: '岱山县公路与运输管理中心' }).waitFor();

  // not public yet
  const anon = await open(t);
  await anon.page.goto(`${srv.url}/trade/tenders/${made.id}`);
  await anon.page.locator('h1', { hasText: '项目不存在' }).waitFor();

  // the supervisor reads it, changes nothing
  const sup = await open(t);
  await login(sup.page, 'supervisor');
  await sup.page.goto(`${srv.url}/trade/manage?id=${made.id}`);
  await sup.page.locator('#manage-detail .trade-status[data-status="draft"]').waitFor();
  assert.equal(await sup.page.locator('#announce, #edit-tender, #notice-form, #cancel-form, #new-tender').count(), 0);

  await page.locator('#announce-form input[type=file]').setInputFiles({ name: '招标文件.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n招标文件\n%%EOF\n') });
  await page.locator('#announce').click();
  await page.locator('#manage-detail .trade-status[data-status="announced"]').waitFor();
  assert.match(await page.locator('#manage-msg').textContent(), /公告已发布/);

  // an amendment moving the deadline
  const before = await page.locator('#manage-deadline').textContent();
  const nf = page.locator('#notice-form');
  assert.equal(await nf.locator('[name=new_deadline_at]').isVisible(), false, 'a clarification does not move the deadline');
  await nf.locator('[name=kind]').selectOption('amendment');
  await nf.locator('[name=title]').fill('变更公告（一）');
  await nf.locator('[name=body]').fill('因图纸修改，投标截止时间顺延。');
  await nf.locator('[name=new_deadline_at]').fill(local(30));
  await nf.locator('button[type=submit]').click();
  await page.locator('#manage-msg', { hasText: '顺延' }).waitFor();
  const afterDl = await page.locator('#manage-deadline').textContent();
  assert.notEqual(afterDl, before, 'the deadline moved');
  await shot(page, 'trade-manage.png');
  await page.goto(`${srv.url}/trade/manage?status=announced`);
  await page.locator(`#manage-table tr[data-id="${made.id}"]`).waitFor();
  await assertClean();

  // the public list finds it; the tender page shows the moved deadline
  await anon.page.goto(`${srv.url}/trade?q=${encodeURIComponent(made.title.slice(-8))}`);
  const card = anon.page.locator(`.trade-card[data-id="${made.id}"]`);
  await card.waitFor();
  assert.match(await card.textContent(), /公告中/);
  await card.locator('a').click();
  await anon.page.locator('#tender-title', { hasText: made.title }).waitFor();
  assert.equal((await anon.page.locator('#tender-no').textContent()).trim(), made.no);
  assert.match(await anon.page.locator('#tender-deadline').textContent(), /已顺延 1 次/);
  const moved = anon.page.locator('#notice-list .trade-notice[data-kind="amendment"] .trade-deadline-move');
  assert.match(await moved.textContent(), /顺延至/);
  assert.equal(await anon.page.locator('#tender-lots tbody tr').count(), 2);
  const doc = anon.page.locator('#notice-list .trade-notice[data-kind="announcement"] .trade-files a');
  assert.equal(await doc.textContent(), '招标文件.pdf');
  const res = await anon.page.request.get(srv.url + (await doc.getAttribute('href')));
  assert.equal(res.status(), 200);
  assert.match((await res.body()).toString(), /招标文件/);
  assert.match(await anon.page.locator('#tender-overview').textContent(), /综合评分法（价格分 40%，技术分 60%）/);
  assert.equal(await anon.page.locator('#tender-timeline li[data-state="current"]').getAttribute('data-status'), 'announced');
  await anon.page.locator('#tender-title').focus();
  await shot(anon.page, 'trade-tender.png');
  await phoneAndElder(anon.page, 'tender');
  await anon.assertClean();
});

test('a new bidder registers its company, pays the deposit, sees the sealed-bid form', async (t) => {
  assert.ok(made.id, 'the staff test created a tender');
  // a fresh bidder account (the demo bidder may already have a company)
  const s = await fetch(`${srv.url}/api/v1/session`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: PASSWORD, token: true }),
  }).then((r) => r.json());
  const login2 = `bidder_${Date.now().toString(36)}`;
  const cu = await fetch(`${srv.url}/api/v1/users`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.token}` },
    body: JSON.stringify({ login: login2, password: PASSWORD, role: 'bidder', display_name: '投标经办人' }),
  });
  assert.equal(cu.status, 201);

  const { page, assertClean } = await open(t);
  await login(page, login2);
  await page.goto(`${srv.url}/trade/company`);
  const form = page.locator('#company-form');
  await form.waitFor();
  await form.locator('[name=uscc]').fill('91330921MA2B12345M');
  await form.locator('[name=name]').fill('舟山秀山路桥建设有限公司');
  await form.locator('button[type=submit]').click();
  const err = page.locator('.field', { has: page.locator('[name=uscc]') }).locator('.field-error');
  await err.waitFor();
  assert.match(await err.textContent(), /校验位/);
  await form.locator('[name=uscc]').fill(USCC);
  await form.locator('[name=legal_rep]').fill('周秀山');
  await form.locator('[name=phone]').fill('0580-4412345');
  await form.locator('[name=address]').fill('舟山市岱山县秀山乡兰秀大道 8 号');
  await form.locator('button[type=submit]').click();
  await page.locator('#company-uscc', { hasText: USCC }).waitFor();
  assert.match(await page.locator('#company-panel').textContent(), /058\*+2345/, 'the phone is masked');
  await page.locator('#my-tenders .muted, #my-tender-list').first().waitFor();

  await page.goto(`${srv.url}/trade/tenders/${made.id}`);
  const panel = page.locator('#bid-panel');
  await panel.waitFor();
  const dep = page.locator('#deposit-form');
  assert.equal(await dep.locator('[name=amount]').inputValue(), '400000.00');
  await dep.locator('[name=account_no]').fill('3301 0400 0012 3456 789');
  await dep.locator('[name=bank]').fill('浙江岱山农村商业银行');
  await dep.locator('button[type=submit]').click();
  await panel.locator('.notice-ok', { hasText: '已缴纳保证金 ¥400,000.00' }).waitFor();
  const tpl = await page.locator('#commitment-template').textContent();
  assert.equal(tpl, `isle-bid-commitment:v1:${made.no}:${USCC}:<明文 SHA-256>`);
  const bf = page.locator('#bid-form');
  assert.equal(await bf.locator('input[type=file][name=envelope]').count(), 1);
  assert.deepEqual(await bf.locator('[name=envelope_kind] option').evaluateAll((o) => o.map((x) => x.value)), ['cms', 'sm2']);
  assert.match(await bf.textContent(), /BIDDING\.md/);
  // the form checks the commitment before anything is sent
  await bf.locator('input[type=file]').setInputFiles({ name: 'bid.p7m', mimeType: 'application/octet-stream', buffer: Buffer.from([0x30, 0x82, 0x01]) });
  await bf.locator('[name=commitment_sha256]').fill('not-a-hash');
  await bf.locator('button[type=submit]').click();
  const shaErr = page.locator('.field', { has: page.locator('[name=commitment_sha256]') }).locator('.field-error');
  await shaErr.waitFor();
  await page.locator('#tender-title').focus();
  await shot(page, 'trade-bid.png');
  await phoneAndElder(page, 'bid');

  await page.goto(`${srv.url}/trade/company`);
  const mine = page.locator(`#my-tender-list .trade-card[data-id="${made.id}"]`);
  await mine.waitFor();
  assert.match(await mine.textContent(), /¥400,000\.00（BZJ-/);
  await shot(page, 'trade-company.png');
  await phoneAndElder(page, 'company');
  await assertClean();
});

test('the list on a phone and in 长者模式', async (t) => {
  const { page, assertClean } = await open(t);
  await page.goto(`${srv.url}/trade?q=${encodeURIComponent('秀山岛')}`);
  await page.locator(`.trade-card[data-id="${made.id}"]`).waitFor();
  await phoneAndElder(page, 'list');
  await assertClean();
});
