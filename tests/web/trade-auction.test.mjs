// Browser test of the online auction page (/trade/tenders/{id}/auction, 网络竞价): two
// bidders in two browsers bid live (each sees the other's bid arrive over SSE without
// reloading), the watcher starts the 竞价 after 挂牌, a late bid extends the countdown,
// the public sees numbers and never names, the result with 增幅; phone width and
// 长者模式. The tender is seeded with SQL (the tenders part has its own pages).
// Screenshots: tests/web/out/auction-*.png
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { dbQuery } from '../api/server.mjs';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PHONE = { width: 375, height: 812 };

let srv;
let browser;
let id;
const sql = (s) => dbQuery(srv.db, s);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function companyFor(login, uscc, name) {
  const user = Number(sql(`SELECT id FROM users WHERE login = '${login}'`));
  sql(`INSERT INTO trade_companies (uscc, name, created_at, updated_at) VALUES ('${uscc}', '${name}',
    '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') ON CONFLICT (uscc) DO NOTHING`);
  const c = Number(sql(`SELECT id FROM trade_companies WHERE uscc = '${uscc}'`));
  sql(`INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES (${user}, ${c},
    '2026-01-01T00:00:00Z') ON CONFLICT (user_id) DO NOTHING`);
  return Number(sql(`SELECT company_id FROM trade_company_users WHERE user_id = ${user}`));
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  process.env.ISLE_AUCTION_SCAN_MS = '300'; // the watcher moves the auction on quickly
  srv = await startServer();
  browser = await launchBrowser();
  const c1 = companyFor('bidder', '91330900MA2WB0001X', '东港建设集团有限公司');
  const c2 = companyFor('company', '91330900MA2WB0002Y', '舟渔水产有限公司');
  sql(`INSERT INTO tenders (tender_no, kind, title, buyer, reserve_fen, deposit_fen, method, method_params,
    status, announce_at, deadline_at, created_at, updated_at) VALUES ('ZS-TD-2026-0901', 'land',
    '定海区临城新区 LC-12 地块国有建设用地使用权', '舟山市自然资源和规划局', 2860000000, 100000000, 'auction',
    '{"increment":"100000","extend_seconds":30,"auction_minutes":5}', 'announced',
    '${iso(Date.now() - 86400e3)}', '${iso(Date.now() + 3600e3)}', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')`);
  id = Number(sql(`SELECT id FROM tenders WHERE tender_no = 'ZS-TD-2026-0901'`));
  for (const c of [c1, c2]) {
    sql(`INSERT INTO trade_deposits (tender_id, company_id, amount_fen, account_no, account_name, paid_at)
      VALUES (${id}, ${c}, 100000000, '6222${c}', 'x', '${iso(Date.now())}')`);
  }
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  delete process.env.ISLE_AUCTION_SCAN_MS;
});

const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

async function assertNoInlineStyles(page) {
  const bad = await page.locator('[style]:not([style=""])').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
  assert.deepEqual(bad, [], 'no inline style attributes');
}

async function shot(page, name) {
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

const login = (page, who) => loginAs(page, srv.url, who);

const priceIs = (page, text) => page.waitForFunction((t) => document.querySelector('#auc-price')?.textContent === t, text, { timeout: 10000 });
const seconds = async (page) => {
  const t = await page.locator('#auc-countdown').textContent();
  const parts = t.split(':').map(Number);
  return parts.reduce((a, b) => a * 60 + b, 0);
};

test('two bidders bid live; the countdown extends on a late bid; the result', async (t) => {
  const A = await openPage(browser, t);
  const B = await openPage(browser, t);
  const P = await openPage(browser, t); // the public, not logged in
  await login(A.page, 'bidder');
  await login(B.page, 'company');
  const url = `${srv.url}/trade/tenders/${id}/auction`;
  await Promise.all([A.page.goto(url), B.page.goto(url), P.page.goto(url)]);
  for (const x of [A, B, P]) await priceIs(x.page, '¥28,600,000.00');
  assert.match(await A.page.locator('.auc-phase').textContent(), /挂牌期/);
  assert.equal(await P.page.locator('.auc-bid').count(), 0, 'the public has no bid buttons');
  assert.match(await P.page.locator('#auc-mine').textContent(), /登录后参与竞价/);

  // 挂牌: A offers the reserve; B sees it arrive (SSE), then outbids by +2 档.
  await A.page.locator('.auc-bid[data-steps="1"]').click();
  await priceIs(A.page, '¥28,600,000.00');
  await A.page.waitForFunction(() => document.querySelector('#auc-mine')?.textContent.includes('您当前领先'));
  await B.page.waitForFunction(() => document.querySelectorAll('#auc-history tbody tr').length === 1, null, { timeout: 4000 });
  await shot(A.page, 'auction-listing.png');
  await B.page.locator('.auc-bid[data-steps="2"]').click(); // min + 1 increment above the reserve bid
  await priceIs(B.page, '¥28,800,000.00');
  await priceIs(A.page, '¥28,800,000.00'); // live on A without a reload (within the SSE latency)
  assert.match(await A.page.locator('#auc-mine').textContent(), /已被超越/);
  assert.equal(await A.page.locator('.auc-bid').first().isDisabled(), false);

  // 挂牌 ends: the watcher starts the 竞价; the pages follow (auction_started event).
  sql(`UPDATE tenders SET deadline_at = '${iso(Date.now() - 1000)}' WHERE id = ${id}`);
  await A.page.waitForFunction(() => document.querySelector('.auc-phase')?.textContent.includes('竞价中'), null, { timeout: 6000 });
  await B.page.waitForFunction(() => document.querySelector('.auc-phase')?.textContent.includes('竞价中'), null, { timeout: 6000 });

  // Near the end: 12 s left; A's bid extends the end to now + 30 s on both pages.
  sql(`UPDATE tenders SET auction_ends_at = '${iso(Date.now() + 12000)}' WHERE id = ${id}`);
  await A.page.reload();
  await B.page.reload();
  await priceIs(A.page, '¥28,800,000.00');
  const before = await seconds(B.page);
  assert.ok(before <= 12, `countdown before: ${before}`);
  await A.page.locator('.auc-bid[data-steps="1"]').click();
  await priceIs(B.page, '¥28,900,000.00');
  await B.page.waitForFunction(() => {
    const [m, s] = document.querySelector('#auc-countdown').textContent.split(':').map(Number);
    return m * 60 + s >= 25;
  }, null, { timeout: 4000 });
  const extended = await seconds(B.page);
  assert.ok(extended > before + 10, `extended ${before} → ${extended}`);
  assert.ok(await B.page.locator('#auc-countdown.auc-urgent').count() === 1, 'urgent style under a minute');
  await shot(B.page, 'auction-live.png');

  // B answers with +5 档 (five increments above the current price).
  await B.page.locator('.auc-bid[data-steps="5"]').click();
  await priceIs(A.page, '¥29,400,000.00');
  await B.page.waitForFunction(() => document.querySelector('#auc-mine')?.textContent.includes('您当前领先'));
  assert.ok(await B.page.locator('.auc-bid').first().isDisabled(), 'the leader cannot bid against itself');

  // The public (anonymous, its own stream): live too, numbers, never names, before the result.
  await P.page.waitForFunction(() => document.querySelector('#auc-price')?.textContent === '¥29,400,000.00', null, { timeout: 4000 });
  const pub = await P.page.locator('main').textContent();
  assert.ok(!/东港建设|舟渔水产/.test(pub), 'no company names before the result');
  assert.match(pub, /领先竞买号：2/);

  // The end: the watcher awards to B; everyone sees the winner and 增幅.
  sql(`UPDATE tenders SET auction_ends_at = '${iso(Date.now() - 1000)}' WHERE id = ${id}`);
  for (const x of [A, B]) {
    await x.page.waitForFunction(() => document.querySelector('.auc-result-box')?.textContent.includes('舟渔水产有限公司'), null, { timeout: 8000 });
  }
  const res = await A.page.locator('.auc-result-box').textContent();
  assert.match(res, /成交价：¥29,400,000\.00/);
  assert.match(res, /增幅：2\.80%/);
  assert.equal(await A.page.locator('.auc-bid').count(), 0);
  assert.match(await A.page.locator('#auc-mine').textContent(), /未竞得/);
  await B.page.waitForFunction(() => document.querySelector('#auc-mine')?.textContent.includes('您已竞得'));
  assert.equal(await A.page.locator('.auc-banner .notice').count(), 0, 'the old 已出价 banner is gone');
  await shot(A.page, 'auction-result.png');
  for (const x of [A, B, P]) await x.assertClean();
});

test('phone width and 长者模式', async (t) => {
  for (const [name, opts] of [['auction-phone.png', { viewport: PHONE }], ['auction-elder-phone.png', { viewport: PHONE, elder: true }], ['auction-elder.png', { elder: true }]]) {
    const x = await openPage(browser, t, opts);
    await x.page.goto(`${srv.url}/trade/tenders/${id}/auction`);
    await x.page.locator('#auc-price').waitFor();
    await x.page.waitForFunction(() => document.querySelectorAll('#auc-history tbody tr').length >= 4);
    assert.ok(await overflowX(x.page) <= 0, `${name}: no sideways scrolling`);
    await shot(x.page, name);
    await x.assertClean();
  }
  // A bidder on a phone in 长者模式, on a fresh auction in 挂牌 (the buttons).
  sql(`UPDATE tenders SET status = 'announced', deadline_at = '${iso(Date.now() + 3600e3)}', auction_price_fen = NULL,
    auction_leader_id = NULL, auction_ends_at = NULL, version = version + 1 WHERE id = ${id}`);
  const x = await openPage(browser, t, { viewport: PHONE, elder: true });
  await login(x.page, 'bidder');
  await x.page.goto(`${srv.url}/trade/tenders/${id}/auction`);
  await x.page.locator('.auc-bid').first().waitFor();
  assert.ok(await overflowX(x.page) <= 0, 'bidder phone elder: no sideways scrolling');
  const box = await x.page.locator('.auc-bid').first().boundingBox();
  assert.ok(box.height >= 60 && box.width >= 280, `big buttons in 长者模式: ${JSON.stringify(box)}`);
  await shot(x.page, 'auction-bidder-elder-phone.png');
  await x.assertClean();
});
