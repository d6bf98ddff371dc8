// Browser test of 防围串标 in the platform (src/screen/platform.c) against the real
// server with the demo trading year (planted collusive groups): the supervisor
// screens every opened tender, opens the alert with the strongest evidence, reads
// the traces with their legal article, the bids, the price screens and the
// co-bidding network, opens a case (立案), records evidence, exports the dossier
// PDF and closes the case with a decision. A bidder never reaches any of it.
// Screenshots: tests/web/out/screen-*.png
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');

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

const login = (page, who) => loginAs(page, srv.url, who);

test('a supervisor goes from an alert through its evidence to an opened and closed case', async (t) => {
  const { page, assertClean } = await openPage(browser, t);
  await login(page, 'supervisor');
  await page.goto(`${srv.url}/screen`);
  await page.locator('#screen-run').click();
  await page.locator('#screen-flash .notice').waitFor({ timeout: 60000 });
  assert.match(await page.locator('#screen-flash').textContent(), /已筛查 \d+ 个项目/);
  const first = page.locator('#screen-alert-list .screen-alert-row').first();
  await first.waitFor();
  // Hard evidence comes first: the top alert cites article 40.
  assert.match(await first.textContent(), /第四十条/);
  await page.screenshot({ path: path.join(OUT, 'screen-queue.png'), fullPage: true });

  await first.locator('a.screen-alert-link').click();
  await page.locator('#screen-traces').waitFor();
  const traces = await page.locator('#screen-traces').textContent();
  assert.match(traces, /招标投标法实施条例第四十条\(\d\)/);
  assert.ok((await page.locator('#screen-bids tbody tr').count()) >= 3, 'the bids are listed');
  assert.match(await page.locator('#screen-screens').textContent(), /变异系数/);
  // The co-bidding network is drawn (planted groups bid together across tenders).
  await page.locator('#screen-network canvas').waitFor();
  await page.screenshot({ path: path.join(OUT, 'screen-evidence.png'), fullPage: true });

  // Dismissing needs a reason: cancel instead, then open a case.
  await page.locator('#screen-dismiss').click();
  const dlg = page.locator('dialog[open]');
  await dlg.waitFor();
  await dlg.locator('button', { hasText: '取消' }).click();
  await page.locator('#screen-open-case').click();
  await page.locator('dialog[open] textarea').fill('同一IP上传、保证金同一账户转出，报价呈固定比例，立案调查。');
  await page.locator('dialog[open] button[type=submit]').click();
  await page.waitForURL(/\/screen\/cases\/\d+\?opened=1$/);
  await page.locator('#screen-entries').waitFor();
  assert.equal(await page.locator('#screen-case-status').getAttribute('data-status'), 'open');
  assert.match(await page.locator('#screen-entries').textContent(), /立案调查/);

  // Evidence, the dossier, the decision.
  await page.locator('#screen-entry-kind').selectOption('evidence');
  await page.locator('#screen-entry-text').fill('调取开标记录与保证金银行流水，三家保证金由同一账户转出。');
  await page.locator('#screen-entry-form button[type=submit]').click();
  await page.waitForFunction(() => /银行流水/.test(document.querySelector('#screen-entries')?.textContent || ''));
  const href = await page.locator('#screen-dossier').getAttribute('href');
  const pdf = await page.request.get(`${srv.url}${href}`);
  assert.equal(pdf.status(), 200);
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  await page.screenshot({ path: path.join(OUT, 'screen-case.png'), fullPage: true });
  await page.locator('#screen-decision').fill('移送行政监督部门依法处理，涉案投标无效。');
  await page.locator('#screen-close-form button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#screen-case-status')?.dataset.status === 'closed');
  await page.screenshot({ path: path.join(OUT, 'screen-case-closed.png'), fullPage: true });
  await assertClean();
});

test('bidders never see screening results', async (t) => {
  const { page } = await openPage(browser, t);
  await login(page, 'bidder');
  const r = await page.request.get(`${srv.url}/api/v1/screen/alerts`);
  assert.equal(r.status(), 403);
  await page.goto(`${srv.url}/screen`);
  await page.locator('main').waitFor();
  assert.equal(await page.locator('#screen-alert-list').count(), 0);
});
