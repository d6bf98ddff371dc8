// Browser test of the remote opening hall (web/js/pages/trade-hall.js) against the
// real server: an anonymous watcher (phone width) and a bidder (desktop) have the
// hall open while the host advances it through the API; both see the steps change,
// the sign-ins and the 唱标 rows arrive live over SSE. The bidder signs in with the
// button and submits the plaintext it decrypted with `openssl cms -decrypt` through
// the file picker. Then the host runs the rest from its page (a refusal shown, the
// close of decryption with the factor, objections, the record) while the bidder
// objects and confirms with a pasted signature. Also 长者模式 at phone width.
// Screenshots: tests/web/out/hall-*.png
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { dbQuery } from '../api/server.mjs';
import { createHall, decryptBid, ensurePki, signConfirm } from '../api/trade-hall-fixture.mjs';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PASSWORD = 'Zhoushan@2026';
const PHONE = { width: 375, height: 812 };

let srv;
let browser;
let tmp;
let pki;
let hall;
let hostToken;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'isle-hall-web-'));
  pki = ensurePki(path.join(tmp, 'pki'));
  srv = await startServer();
  browser = await launchBrowser();
  hall = createHall(srv.db, { n: 3, pki, prefix: 'webhall' });
  const r = await fetch(`${srv.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: 'trading_staff', password: PASSWORD, token: true }),
  });
  hostToken = (await r.json()).token;
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function hostAct(action, body = {}, token = hostToken) {
  const r = await fetch(`${srv.url}/api/v1/trade/tenders/${hall.tenderId}/hall/${action}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  assert.equal(r.status, 200, `${action}: ${JSON.stringify(j)}`);
  return j;
}

const login = (page, who) => loginAs(page, srv.url, who);

async function shot(page, name) {
  const bad = await page.locator('[style]:not([style=""])').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
  assert.deepEqual(bad, [], 'no inline style attributes');
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

const current = (page) => page.locator('.hall-steps li.current');
const rows = (page) => page.locator('.hall-table tbody tr[data-bid]');

test('the hall is live to a bidder and an anonymous watcher', async (t) => {
  const url = `${srv.url}/trade/tenders/${hall.tenderId}/hall`;
  const w = await openPage(browser, t, { viewport: PHONE });
  const b = await openPage(browser, t);
  const [b0, b1, b2] = hall.bidders;

  await w.page.goto(url);
  await w.page.locator('.hall-live.on').waitFor();
  assert.equal(await current(w.page).textContent(), '等待开标');
  assert.match(await w.page.locator('.hall-watcher').textContent(), /游客/);
  await shot(w.page, 'hall-watcher-waiting.png');

  await login(b.page, b0.login);
  await b.page.goto(url);
  await b.page.locator('.hall-live.on').waitFor();

  // The host opens the hall: both pages move on without a reload.
  await hostAct('start');
  await current(w.page).filter({ hasText: '投标人签到' }).waitFor();
  await current(b.page).filter({ hasText: '投标人签到' }).waitFor();

  // The bidder signs in with its button; the watcher sees the company arrive.
  await b.page.getByRole('button', { name: '签到' }).click();
  await w.page.locator('.hall-chips li', { hasText: b0.name }).waitFor();
  for (const x of [b1, b2]) await hostAct('signin', {}, x.token);
  await w.page.locator('.hall-chips li').nth(2).waitFor();
  await hostAct('begin_decrypt', { minutes: 20 });
  await current(b.page).filter({ hasText: '投标文件解密' }).waitFor();
  assert.match(await w.page.locator('.hall-clock-label').textContent(), /解密剩余/);
  assert.match(await w.page.locator('.hall-clock').textContent(), /^00:(19|20):\d\d$/);

  // The bidder decrypted at home; it picks the plaintext file and submits it.
  const plainPath = path.join(tmp, '投标文件.json');
  writeFileSync(plainPath, decryptBid(pki, b0));
  await b.page.locator('#hall-plain').setInputFiles(plainPath);
  await b.page.getByRole('button', { name: '提交解密结果' }).click();
  const price0 = JSON.parse(b0.plaintext).form.price;
  await w.page.locator('.hall-table tbody tr', { hasText: b0.name }).waitFor();
  const wRow = w.page.locator('.hall-table tbody tr', { hasText: b0.name });
  assert.match(await wRow.textContent(), /已唱标/);
  assert.match((await wRow.locator('td.num').first().textContent()).replace(/,/g, ''), new RegExp(price0.replace('.', '\\.')));
  assert.match(await wRow.textContent(), new RegExp(JSON.parse(b0.plaintext).form.project_manager));

  // A second bidder reveals from elsewhere: both pages get the row live.
  await hostAct('reveal', { plaintext_base64: Buffer.from(b1.plaintext).toString('base64') }, b1.token);
  await w.page.locator('.hall-table tbody tr', { hasText: b1.name }).waitFor();
  await b.page.locator('.hall-table tbody tr', { hasText: b1.name }).waitFor();
  assert.equal(await rows(w.page).count(), 2);
  assert.equal(await rows(b.page).count(), 2);
  assert.match(await b.page.locator('.hall-controls').textContent(), /已唱标/);
  await b.page.locator('.hall-feed li', { hasText: b1.name }).first().waitFor();
  await shot(b.page, 'hall-bidder.png');
  await shot(w.page, 'hall-watcher.png');
  const overflow = await w.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at 375px (${overflow}px)`);

  // A watcher who reloads catches up with the same table.
  await w.page.reload();
  await w.page.locator('.hall-live.on').waitFor();
  assert.equal(await rows(w.page).count(), 2);
  await w.assertClean();
  await b.assertClean();
});

test('the host sees its controls; 长者模式 at phone width', async (t) => {
  const url = `${srv.url}/trade/tenders/${hall.tenderId}/hall`;
  const hst = await openPage(browser, t);
  await login(hst.page, 'trading_staff');
  await hst.page.goto(url);
  await hst.page.locator('.hall-live.on').waitFor();
  assert.match(await hst.page.locator('.hall-host-note').textContent(), /主持人/);
  await hst.page.getByRole('button', { name: '结束解密并唱标' }).waitFor();
  await shot(hst.page, 'hall-host.png');
  await hst.assertClean();

  const e = await openPage(browser, t, { viewport: PHONE, elder: true });
  await e.page.goto(url);
  await e.page.locator('.hall-live.on').waitFor();
  assert.ok(await e.page.evaluate(() => document.documentElement.classList.contains('elder')));
  assert.equal(await rows(e.page).count(), 2);
  await shot(e.page, 'hall-watcher-elder.png');
  const overflow = await e.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling in 长者模式 (${overflow}px)`);
  await e.assertClean();
});

test('the host runs the rest of the hall from the page; objection, reply, confirmation', async (t) => {
  const url = `${srv.url}/trade/tenders/${hall.tenderId}/hall`;
  const [b0] = hall.bidders;
  const hst = await openPage(browser, t);
  const b = await openPage(browser, t);
  const w = await openPage(browser, t, { viewport: PHONE });
  await login(hst.page, 'trading_staff');
  await hst.page.goto(url);
  await login(b.page, b0.login);
  await b.page.goto(url);
  await w.page.goto(url);
  for (const p of [hst.page, b.page, w.page]) await p.locator('.hall-live.on').waitFor();

  // The third bidder has not decrypted and the window is open: the page shows the refusal.
  await hst.page.getByRole('button', { name: '结束解密并唱标' }).click();
  await hst.page.locator('.hall-banner .notice-error', { hasText: '解密时间尚未结束' }).waitFor();
  dbQuery(srv.db, `UPDATE openings SET decrypt_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${hall.tenderId}`);
  await hst.page.getByRole('button', { name: '结束解密并唱标' }).click();
  await current(w.page).filter({ hasText: '唱标完成' }).waitFor();
  await w.page.locator('.hall-table tbody tr', { hasText: '未解密' }).waitFor();
  await w.page.locator('.hall-factor').waitFor();
  assert.match(await w.page.locator('.hall-factor').textContent(), /0\.9[5-8]\d\d/);

  await hst.page.getByRole('button', { name: '开始异议' }).click();
  await current(b.page).filter({ hasText: '异议' }).waitFor();
  await b.page.locator('#hall-objection').fill('第二名的项目经理另有在建项目，请核实。');
  await b.page.getByRole('button', { name: '提交异议' }).click();
  await w.page.locator('.hall-objection-text', { hasText: '另有在建项目' }).waitFor();
  await hst.page.locator('.hall-objection textarea').fill('已记录，提交评标委员会核查。');
  await hst.page.getByRole('button', { name: '答复' }).click();
  await b.page.locator('.hall-reply', { hasText: '提交评标委员会核查' }).waitFor();
  await shot(w.page, 'hall-objections.png');

  dbQuery(srv.db, `UPDATE openings SET objections_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${hall.tenderId}`);
  await hst.page.getByRole('button', { name: '生成开标记录' }).click();
  const confirm = b.page.locator('.hall-confirm-string');
  await confirm.waitFor();
  const text = (await confirm.textContent()).trim();
  assert.match(text, new RegExp(`^isle-opening-confirm:v1:${hall.tenderNo}:[0-9a-f]{64}$`));
  await b.page.locator('#hall-sig').fill(signConfirm(pki, b0, text));
  await b.page.getByRole('button', { name: '确认开标记录' }).click();
  await w.page.locator('.hall-confirms', { hasText: b0.name }).waitFor();
  await hst.page.getByRole('button', { name: '结束开标' }).click();
  await current(w.page).filter({ hasText: '开标结束' }).waitFor();
  await w.page.locator('.hall-record', { hasText: 'Ed25519' }).waitFor();
  assert.equal(await w.page.locator('.hall-record a').getAttribute('href'), `/api/v1/trade/tenders/${hall.tenderId}/hall/record.pdf`);
  await shot(w.page, 'hall-closed.png');
  await shot(b.page, 'hall-bidder-closed.png');
  for (const p of [hst, b, w]) await p.assertClean();
});
