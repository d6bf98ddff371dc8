// Browser tests of 办事不出岛 (帮办代办) against the real isle server (see
// server.mjs): a resident books an agent from a guide page on a phone (帮我办),
// the request page shows the dispatcher's choice and reason; staff reassign it to
// the demo agent; the agent, on a phone, sees the task arrive in the inbox with
// the next-ferry hint, accepts it with one tap, starts and finishes it with a
// photo; the resident sees 已办结 with the timeline; the dispatch board shows the
// figures and the island map. Phone width and 长者模式.
// Screenshots: tests/web/out/assist-*.png
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PASSWORD = 'Zhoushan@2026';
const ITEM = '330900-MZ-300010'; // 老年人优待证办理
const PHONE = { width: 375, height: 812 };
// A 1×1 PNG: the completion photo.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let srv;
let browser;
const booked = { id: 0, no: '' };

before(async () => {
  mkdirSync(OUT, { recursive: true });
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

async function assertNoInlineStyles(page) {
  const bad = await page.locator('[style]:not([style=""])').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
  assert.deepEqual(bad, [], 'no inline style attributes');
}

const login = (page, who) => loginAs(page, srv.url, who);

test('resident books an agent from the guide on a phone (帮我办)', async (t) => {
  const { page, assertClean } = await openPage(browser, t, { viewport: PHONE });
  await login(page, 'citizen');
  await page.goto(`${srv.url}/items/${ITEM}`);
  const book = page.locator('#assist-book');
  assert.equal(await book.getAttribute('href'), `/assist/new?item=${ITEM}`);
  await book.click();
  await page.locator('#assist-form').waitFor();
  assert.match(await page.locator('#assist-item-chosen').textContent(), /老年人优待证/);

  // Submitting without a village names the field.
  await page.locator('#assist-submit').click();
  const villageErr = page.locator('.field', { has: page.locator('[name="village_code"]') }).locator('.field-error');
  await villageErr.waitFor();
  assert.match(await villageErr.textContent(), /村/);

  // The resident's own town is preselected; pick a village.
  const village = page.locator('select[name=village_code]');
  await page.waitForFunction(() => document.querySelectorAll('select[name=village_code] option').length > 1);
  const first = await village.evaluate((s) => [...s.options].map((o) => o.value).find((v) => v));
  await village.selectOption(first);
  await page.locator('textarea[name=description]').fill('腿脚不便，请上门帮我办老年证');
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll on a phone');
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, 'assist-book.png'), fullPage: true });
  await page.locator('#assist-submit').click();

  await page.waitForURL(/\/assist\/\d+\?created=1$/);
  booked.id = Number(page.url().match(/\/assist\/(\d+)/)[1]);
  await page.locator('#assist-timeline').waitFor();
  booked.no = (await page.locator('.page-sub').textContent()).match(/BB\d+/)[0];
  // The dispatcher has chosen someone and says why, or says why nobody.
  const agentBox = await page.locator('#assist-agent').textContent();
  assert.match(agentBox, /派单依据|代办员/);
  assert.match(await page.locator('#assist-hint').textContent(), /代办员|寻找/);
  await page.screenshot({ path: path.join(OUT, 'assist-request-resident.png'), fullPage: true });

  // 我的帮办 lists it.
  await page.goto(`${srv.url}/me/assist`);
  await page.locator(`#assist-list [data-id="${booked.id}"]`).waitFor();
  await assertClean();
});

test('staff reassign the request to the demo agent from the request page', async (t) => {
  assert.ok(booked.id, 'booked by the previous test');
  const { page, assertClean } = await openPage(browser, t);
  await login(page, 'staff');
  const agents = await page.evaluate(() => fetch('/api/v1/agents?q=李代办').then((r) => r.json()));
  const me = agents.items.find((a) => a.login === 'agent');
  assert.ok(me, 'the demo agent is in the registry');
  await page.goto(`${srv.url}/assist/${booked.id}`);
  await page.locator('#assist-reassign-agent').fill(String(me.id));
  await page.locator('.assist-reassign button[type=submit]').click();
  await page.locator('#assist-flash .notice').waitFor();
  await page.waitForFunction(() => /李代办/.test(document.querySelector('#assist-agent')?.textContent || ''));
  await assertClean();
});

test('the agent accepts on a phone, sees the ferry hint, finishes with a photo', async (t) => {
  const { page, assertClean } = await openPage(browser, t, { viewport: PHONE });
  await login(page, 'agent');
  await page.goto(`${srv.url}/agent`);
  const card = page.locator(`#agent-task-list [data-id="${booked.id}"]`);
  await card.waitFor();
  assert.equal(await card.getAttribute('data-status'), 'dispatched');
  // The way there: from 六横 to the resident's island (金塘) there is a boat (or a hint why not).
  await page.waitForFunction((id) => !/正在查询/.test(document.querySelector(`#agent-task-list [data-id="${id}"] .agent-ferry`)?.textContent || '正在查询'), booked.id);
  assert.match(await card.locator('.agent-ferry').textContent(), /船|分钟|班次|查不到/);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll on a phone');
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, 'assist-agent-inbox.png'), fullPage: true });

  await card.locator('button[data-action=accept]').click();
  await page.locator('#agent-banner .notice').waitFor();
  await page.waitForFunction((id) => document.querySelector(`#agent-task-list [data-id="${id}"]`)?.dataset.status === 'accepted', booked.id);

  // Applying online for the resident needs their consent first.
  await card.locator('a.agent-task-link').click();
  await page.locator('#assist-case').waitFor();
  assert.match(await page.locator('#assist-case').textContent(), /授权后才能代为申请/);
  {
    const resident = await openPage(browser, t, { viewport: PHONE });
    await login(resident.page, 'citizen');
    await resident.page.goto(`${srv.url}/assist/${booked.id}`);
    await resident.page.locator('#assist-consent').click();
    await resident.page.locator('#assist-flash .notice').waitFor();
    await resident.assertClean();
  }
  await page.reload();
  const caseForm = page.locator('#assist-case-form');
  await caseForm.locator('[name=delivery]').waitFor();
  assert.equal(await caseForm.locator('[name=name]').inputValue(), '张阿婆', 'prefilled from the request');
  await caseForm.locator('button[type=submit]').click(); // the ID number is missing
  await caseForm.locator('.field-error:not([hidden])').first().waitFor();
  await caseForm.locator('[name=id_number]').fill('330902195203140021');
  await caseForm.locator('[name=delivery]').selectOption('村（社区）代领');
  await caseForm.locator('button[type=submit]').click();
  await page.locator('.assist-dl a[href^="/cases/"]').waitFor();

  // Then start, and finish with a photo.
  await page.locator('#assist-actions button[data-action=start]').click();
  await page.waitForFunction(() => document.querySelector('.assist-status')?.dataset.status === 'in_progress');
  await page.locator('#assist-photo').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
  await page.locator('#assist-complete button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('.assist-status')?.dataset.status === 'done');
  assert.match(await page.locator('#assist-timeline').textContent(), /已附办结照片/);
  await page.screenshot({ path: path.join(OUT, 'assist-agent-done.png'), fullPage: true });

  // 长者模式 on the inbox: large type, nothing wider than the phone.
  await page.goto(`${srv.url}/agent`);
  await page.locator('#elder-toggle').click();
  const px = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  assert.ok(px >= 22, `elder root font ${px}px`);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll in 长者模式');
  await page.screenshot({ path: path.join(OUT, 'assist-agent-elder.png'), fullPage: true });
  await assertClean();
});

test('the resident sees 已办结 with the whole timeline', async (t) => {
  const { page, assertClean } = await openPage(browser, t, { viewport: PHONE });
  await login(page, 'citizen');
  await page.goto(`${srv.url}/assist/${booked.id}`);
  await page.locator('#assist-timeline').waitFor();
  assert.equal(await page.locator('.assist-status').getAttribute('data-status'), 'done');
  const tl = await page.locator('#assist-timeline').textContent();
  for (const step of ['提交预约', '接单', '开始办理', '办结']) assert.ok(tl.includes(step), `timeline has ${step}`);
  await assertClean();
});

test('staff take a phone intake; the dispatch board shows it with the figures and the island map', async (t) => {
  const { page, assertClean } = await openPage(browser, t);
  await login(page, 'staff');
  // A phone intake for a resident of 东极 (the far east: boats only a few times a day).
  await page.goto(`${srv.url}/assist/new`);
  await page.locator('#assist-form').waitFor();
  await page.locator('input[name=resident_name]').fill('王阿公');
  await page.locator('input[name=resident_phone]').fill('13905809999');
  const town = await page.locator('select[name=town]').evaluate((s) => [...s.options].find((o) => o.textContent === '东极镇').value);
  await page.locator('select[name=town]').selectOption(town);
  await page.waitForFunction(() => document.querySelectorAll('select[name=village_code] option').length > 1);
  const v = await page.locator('select[name=village_code]').evaluate((s) => [...s.options].map((o) => o.value).find((x) => x));
  await page.locator('select[name=village_code]').selectOption(v);
  await page.locator('textarea[name=description]').fill('来电：想办医保报销');
  await page.locator('#assist-submit').click();
  await page.waitForURL(/\/assist\/\d+\?created=1$/);
  const phoneId = page.url().match(/\/assist\/(\d+)/)[1];

  await page.goto(`${srv.url}/work/dispatch`);
  await page.locator('#dispatch-kpis .kpi').first().waitFor();
  const kpis = await page.locator('#dispatch-kpis').textContent();
  assert.match(kpis, /在岗代办员/);
  assert.match(kpis, /开放预约/);
  assert.ok(Number(await page.locator('#dispatch-kpis .kpi-value').first().textContent()) >= 1, 'the intake is open');
  assert.equal(await page.locator(`#dispatch-waiting-list [data-id="${phoneId}"], #dispatch-table tr[data-id="${phoneId}"]`).count(), 1);
  await page.locator('#dispatch-map canvas').waitFor();
  await page.locator('#dispatch-waiting h2').waitFor();
  await page.screenshot({ path: path.join(OUT, 'assist-dispatch-board.png'), fullPage: true });
  // 超时督办: only overdue requests (none here: the intake was just made).
  await page.locator('#dispatch-overdue-tab').click();
  await page.waitForURL(/due=overdue/);
  await page.waitForFunction(() => document.querySelector('#dispatch-kpis .kpi-value')?.textContent === '0');
  assert.equal(await page.locator(`#dispatch-table tr[data-id="${phoneId}"]`).count(), 0);
  await assertClean();
});

/** Log in over HTTP (no browser) and return a caller for the API as that user. */
async function apiAs(who, password = PASSWORD) {
  const r = await fetch(`${srv.url}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: who, password }) });
  assert.equal(r.status, 200, `login ${who}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return async (method, p, json) => {
    const res = await fetch(`${srv.url}${p}`, { method, headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: json ? JSON.stringify(json) : undefined });
    return { status: res.status, json: await res.json().catch(() => null) };
  };
}

test('a proof asked for on a phone is checked by the village and the town, issued, and its QR verifies', async (t) => {
  // The checkers of the resident's town (金塘镇): one for the village, one for the town.
  const admin = await apiAs('admin');
  for (const [login, name] of [['jt_village', '金塘村务核查员'], ['jt_town', '金塘镇便民服务中心']]) {
    const r = await admin('POST', '/api/v1/users', { login, password: PASSWORD, role: 'staff', display_name: name, town_code: '330902100' });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }

  const { page, assertClean } = await openPage(browser, t, { viewport: PHONE });
  await login(page, 'citizen');
  await page.goto(`${srv.url}/me/proofs`);
  await page.locator('#proof-form select[name=kind]').selectOption('residence');
  await page.locator('#proof-form input[name=purpose]').fill('子女入学');
  await page.locator('#proof-form textarea[name=details]').fill('本人自2010年起居住于金塘镇大浦社区');
  await page.locator('#proof-submit').click();
  const card = page.locator('#proof-list .proof-card').first();
  await card.waitFor();
  assert.equal(await card.getAttribute('data-status'), 'requested');
  const proofId = await card.getAttribute('data-id');

  // Village, town, district, each on its own queue page.
  for (const [who, action] of [['jt_village', 'check_village'], ['jt_town', 'check_town'], ['approver', 'issue']]) {
    const s = await openPage(browser, t);
    await login(s.page, who);
    await s.page.goto(`${srv.url}/work/proofs`);
    const row = s.page.locator(`#proof-queue .proof-card[data-id="${proofId}"]`);
    await row.locator(`button[data-action=${action}]`).click();
    await s.page.locator('#proof-flash .notice').waitFor();
    assert.doesNotMatch(await s.page.locator('#proof-flash').textContent(), /失败|不能|无权/);
    if (action === 'issue') await s.page.screenshot({ path: path.join(OUT, 'assist-proof-queue.png'), fullPage: true });
    await s.assertClean();
  }

  await page.reload();
  await page.locator(`#proof-list .proof-card[data-id="${proofId}"][data-status="issued"]`).waitFor();
  const pdf = await page.request.get(`${srv.url}/api/v1/proofs/${proofId}/pdf`);
  assert.equal(pdf.status(), 200);
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  await page.screenshot({ path: path.join(OUT, 'assist-proof-mine.png'), fullPage: true });
  const proof = (await (await page.request.get(`${srv.url}/api/v1/proofs/${proofId}`)).json()).proof;
  await assertClean();

  // Anyone verifies it: the QR text pasted into /verify, without logging in.
  const anon = await openPage(browser, t, { viewport: PHONE });
  await anon.page.goto(`${srv.url}/verify`);
  await anon.page.locator('#verify-qr').fill(proof.qr_text);
  await anon.page.locator('#verify-by-qr button').click();
  await anon.page.locator('#verdict').waitFor();
  assert.equal(await anon.page.locator('#verdict').getAttribute('data-status'), 'valid');
  assert.match(await anon.page.locator('#verdict').textContent(), /核验通过/);
  assert.doesNotMatch(await anon.page.locator('#verdict').textContent(), /330902195203140021/, 'no ID number shown');
  await anon.page.screenshot({ path: path.join(OUT, 'assist-proof-verify.png'), fullPage: true });
  // An altered QR (the validity pushed a year later) fails and says why.
  const until = proof.qr_text.split('|')[6];
  const forged = proof.qr_text.replace(`|${until}|`, `|${Number(until.slice(0, 4)) + 1}${until.slice(4)}|`);
  assert.notEqual(forged, proof.qr_text);
  await anon.page.locator('#verify-qr').fill(forged);
  await anon.page.locator('#verify-by-qr button').click();
  await anon.page.waitForFunction(() => document.querySelector('#verdict')?.dataset.status !== 'valid');
  assert.match(await anon.page.locator('#verdict').textContent(), /未通过/);
  await anon.assertClean();
});

test('staff manage agents and stations; the 10-minute circle shows the villages left out', async (t) => {
  const { page, assertClean } = await openPage(browser, t);
  await login(page, 'staff');
  await page.goto(`${srv.url}/work/agents?town=330903100`); // 六横镇
  const row = page.locator('#agents-table tbody tr', { hasText: '李代办' });
  await row.waitFor();
  await row.locator('button[data-action=edit]').click();
  const f = page.locator('#agent-edit-form');
  await f.waitFor();
  await f.locator('input[name=capacity]').fill('0');
  await f.locator('button[type=submit]').click();
  await f.locator('.field-error:not([hidden]), .form-alert:not([hidden])').first().waitFor();
  await f.locator('input[name=capacity]').fill('6');
  await f.locator('button[type=submit]').click();
  await page.locator('#agents-flash .notice').waitFor();
  await page.waitForFunction(() => /\/6/.test(document.querySelector('#agents-table tbody tr[data-id]')?.closest('tbody')?.textContent || ''));
  // A station's opening hours.
  await row.locator('td:nth-child(3) button').click();
  const sf = page.locator('#station-edit-form');
  await sf.waitFor();
  await sf.locator('input[name=hours]').fill('25:00-26:00');
  await sf.locator('button[type=submit]').click();
  await sf.locator('.field-error:not([hidden]), .form-alert:not([hidden])').first().waitFor();
  await sf.locator('input[name=hours]').fill('08:00-11:30,13:30-17:00');
  await sf.locator('button[type=submit]').click();
  await page.locator('#agents-flash', { hasText: '站点已保存' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'assist-agents-admin.png'), fullPage: true });
  await assertClean();

  // The public 10-minute circle for 户籍办理 (service centres only): some villages are left out.
  const anon = await openPage(browser, t, { viewport: PHONE });
  await anon.page.goto(`${srv.url}/places`);
  await anon.page.locator('#coverage-link').click();
  await anon.page.locator('#coverage-kpis .kpi').first().waitFor();
  await anon.page.locator('#coverage-service').selectOption('household');
  await anon.page.locator('#coverage-form button[type=submit]').click();
  await anon.page.waitForURL(/service=household/);
  await anon.page.locator('#coverage-outside-table tbody tr').first().waitFor();
  assert.ok((await anon.page.locator('#coverage-outside-table tbody tr').count()) >= 1);
  await anon.page.locator('#coverage-map canvas').waitFor();
  assert.ok((await anon.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0, 'no sideways scroll on a phone');
  await anon.page.screenshot({ path: path.join(OUT, 'assist-coverage.png'), fullPage: true });
  await anon.assertClean();
});
