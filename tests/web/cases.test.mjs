// Browser tests of the applications pages (一网通办) against the real isle server
// (see server.mjs): a citizen applies from the guide page (login and back, the
// form prefilled, an error from the API at its field, 免提交 and uploaded
// materials, a refused file, the 受理编号); staff find it in the queue and
// accept it (a reason dialog that insists on a reason, assignment, a note); the
// approver reviews and approves; staff deliver; the citizen sees 已办结 with the
// timeline and rates the service (好差评, when that API is there); the
// supervisor's overdue view; phone width and 长者模式 on every page.
// Screenshots: tests/web/out/cases-*.png
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, openPage, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PASSWORD = 'Zhoushan@2026';
const BIRTH = '330900-GA-100001'; // 出生登记: its own form fields, e-licence materials, a paper form
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const PHONE = { width: 375, height: 812 };

let srv;
let browser;
// Filled by the first test, used by the later ones (node:test runs a file's tests in order).
const applied = { id: 0, caseNo: '' };

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
const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** No inline style attributes (the CSP forbids them). Playwright's screenshots
 *  leave an empty style="" on inputs (hiding the caret), so empty ones are fine. */
async function assertNoInlineStyles(page) {
  const bad = await page.locator('[style]:not([style=""])').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
  assert.deepEqual(bad, [], 'no inline style attributes');
}

async function shot(page, name) {
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

const login = (page, who) => loginAs(page, srv.url, who);

/** The error shown next to a form field (the wrapper of the named control). */
function fieldError(page, name) {
  return page.locator('.field', { has: page.locator(`[name="${name}"]`) }).locator('.field-error');
}

/** Every queue row carries its due flag in words: red 已超期, yellow 即将到期. */
async function assertQueueRows(page) {
  for (const r of await page.locator('#queue-table tbody tr').all()) {
    const due = await r.getAttribute('data-due');
    if (due === 'overdue') {
      assert.match(await r.getAttribute('class'), /is-overdue/);
      assert.equal(await r.locator('.due-overdue').textContent(), '已超期');
    } else if (due === 'due_soon') {
      assert.match(await r.getAttribute('class'), /is-due-soon/);
      assert.equal(await r.locator('.due-soon').textContent(), '即将到期');
    } else {
      assert.equal(await r.locator('.due-overdue, .due-soon').count(), 0);
    }
  }
}

/** Fill every required field of the apply form still empty (items gain fields in
 *  data/cases/forms.json without a rebuild): a select's first option, a date, a number, text. */
async function fillRequired(page) {
  for (const el of await page.locator('#apply-form [required]').all()) {
    if (await el.inputValue()) continue;
    const tag = await el.evaluate((e) => e.tagName.toLowerCase());
    const type = await el.getAttribute('type');
    if (tag === 'select') {
      const v = await el.evaluate((e) => [...e.options].map((o) => o.value).find((x) => x));
      await el.selectOption(v);
    } else if (type === 'date') await el.fill('2026-01-15');
    else if (type === 'number') await el.fill(String((await el.getAttribute('min')) || 1));
    else await el.fill('测试内容');
  }
}

async function caseJson(page, id) {
  const r = await page.request.get(`${srv.url}/api/v1/cases/${id}`);
  assert.equal(r.status(), 200);
  return r.json();
}

test('citizen applies online from the guide: login and back, form, 免提交 and uploads, 受理编号', async (t) => {
  const { page, assertClean } = await open(t);
  // Anonymous on the guide: 在线申请 leads to login and back to the application.
  await page.goto(`${srv.url}/items/${BIRTH}`);
  const applyBtn = page.locator('#apply-online');
  assert.equal(await applyBtn.textContent(), '在线申请');
  assert.equal(await applyBtn.getAttribute('aria-disabled'), null, 'a real link for an online item');
  await applyBtn.click();
  await page.waitForURL(/\/login\?next=/);
  assert.equal(new URL(page.url()).searchParams.get('next'), `/apply/${BIRTH}`);
  await page.locator('#login-form input[name=login]').fill('citizen');
  await page.locator('#login-form input[name=password]').fill(PASSWORD);
  await page.locator('#login-form button[type=submit]').click();
  await page.waitForURL(new RegExp(`/apply/${BIRTH}$`));
  await page.locator('#apply-form').waitFor();
  assert.equal(await page.locator('#apply-title').textContent(), '出生登记');
  assert.equal(await page.locator('#apply-steps [aria-current="step"]').getAttribute('data-step'), '1');

  // Prefilled from the account; the item's own fields come from the form endpoint.
  const me = await (await page.request.get(`${srv.url}/api/v1/me`)).json();
  const u = me.user || me;
  assert.equal(await page.locator('[name="form.name"]').inputValue(), u.display_name);
  assert.equal(await page.locator('[name="form.id_number"]').inputValue(), u.id_number);
  assert.equal(await page.locator('[name="form.phone"]').inputValue(), u.phone);
  const def = await (await page.request.get(`${srv.url}/api/v1/items/${BIRTH}/form`)).json();
  for (const f of def.fields) assert.equal(await page.locator(`[name="form.${f.name}"]`).count(), 1, f.name);

  // Required fields left empty: each is marked at the field, nothing is sent.
  await page.locator('#apply-next').click();
  await fieldError(page, 'form.baby_name').waitFor();
  assert.equal(await fieldError(page, 'form.baby_name').textContent(), '请填写新生儿姓名');
  assert.equal(await fieldError(page, 'form.baby_sex').textContent(), '请选择新生儿性别');
  assert.equal(await page.locator('[name="form.baby_name"]').getAttribute('aria-invalid'), 'true');
  const before = await (await page.request.get(`${srv.url}/api/v1/cases?mine=1`)).json();
  assert.equal(before.total, 0, 'no case yet');

  await page.locator('[name="form.baby_name"]').fill('张小舟');
  await page.locator('[name="form.baby_sex"]').selectOption('女');
  await page.locator('[name="form.birth_date"]').fill('2026-11-20');
  await page.locator('[name="form.birth_place"]').fill('舟山医院');
  await page.locator('[name="form.follow"]').selectOption('随母');
  await fillRequired(page);
  // An error only the server can find (the ID number's check digit) appears at its field.
  await page.locator('[name="form.id_number"]').fill('330902195203140022');
  await page.locator('#apply-next').click();
  await fieldError(page, 'form.id_number').waitFor();
  assert.match(await fieldError(page, 'form.id_number').textContent(), /身份证/);
  assert.equal(await page.evaluate(() => document.activeElement.name), 'form.id_number', 'the field is focused');
  await page.locator('[name="form.id_number"]').fill(u.id_number);
  await page.locator('#apply-next').click();

  // Step 2: the draft's materials as the server decided them.
  await page.locator('#apply-materials').waitFor();
  assert.equal(await page.locator('#apply-steps [aria-current="step"]').getAttribute('data-step'), '2');
  const list = await (await page.request.get(`${srv.url}/api/v1/cases?mine=1&status=draft`)).json();
  assert.equal(list.total, 1, 'one draft');
  applied.id = list.items[0].id;
  applied.caseNo = list.items[0].case_no;
  let c = await caseJson(page, applied.id);
  const cards = page.locator('#apply-materials .mat-card');
  assert.equal(await cards.count(), c.materials.length);
  for (const m of c.materials) {
    const card = page.locator(`#apply-materials .mat-card[data-idx="${m.idx}"]`);
    assert.equal(await card.locator('.mat-card-name').textContent(), m.name);
    assert.equal(await card.getAttribute('data-by'), m.satisfied_by);
    if (m.satisfied_by === 'licence') assert.match(await card.textContent(), /免提交/);
    if (m.satisfied_by === 'form') assert.match(await card.textContent(), /由在线申请表代替/);
  }
  const free = c.materials.filter((m) => m.satisfied_by === 'licence').length;
  if (free) assert.match(await page.locator('#mat-summary').textContent(), new RegExp(`${free} 项免提交`));
  const missing = c.materials.filter((m) => m.required && m.satisfied_by === 'none');
  assert.ok(missing.length >= 1, 'something must be uploaded');

  // Submitting with materials missing marks each of them.
  await page.locator('#apply-submit').click();
  for (const m of missing) {
    const err = page.locator(`#apply-materials .mat-card[data-idx="${m.idx}"] .field-error`);
    await err.waitFor();
    assert.equal(await err.textContent(), '请上传此材料');
  }
  // 告知承诺 is offered only where the item allows it (出生登记 does not).
  assert.equal(await page.locator('#apply-materials .commit-btn').count(), 0);

  // A program renamed .pdf is refused by its content, at that material.
  const first = page.locator(`#apply-materials .mat-card[data-idx="${missing[0].idx}"]`);
  await first.locator('input[type=file]').setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ\x90\x00\x03\x00fake exe') });
  await page.waitForFunction((idx) => {
    const p = document.querySelector(`#apply-materials .mat-card[data-idx="${idx}"] .field-error`);
    return p && !p.hidden && /PDF/.test(p.textContent);
  }, missing[0].idx);
  assert.match(await first.locator('.field-error').textContent(), /只接受 PDF、JPG 或 PNG/);

  // Upload a real PDF for each missing material.
  for (const m of missing) {
    const card = page.locator(`#apply-materials .mat-card[data-idx="${m.idx}"]`);
    await card.locator('input[type=file]').setInputFiles({ name: `${m.name}.pdf`, mimeType: 'application/pdf', buffer: PDF });
    await page.locator(`#apply-materials .mat-card[data-idx="${m.idx}"][data-by="upload"]`).waitFor();
    assert.match(await page.locator(`#apply-materials .mat-card[data-idx="${m.idx}"]`).textContent(), new RegExp(`已上传${m.name}\\.pdf`));
  }
  c = await caseJson(page, applied.id);
  assert.equal(c.materials.filter((m) => m.required && m.satisfied_by === 'none').length, 0, 'the server has every material');
  assert.match(await page.locator('#mat-summary').textContent(), /必需材料已齐全/);
  await page.locator('#apply-title').focus(); // no focus ring in the screenshot
  await shot(page, 'cases-apply.png');

  // The same step on a phone and in 长者模式: no sideways scroll, big targets.
  await page.setViewportSize(PHONE);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll on a phone');
  await shot(page, 'cases-apply-phone.png');
  await page.locator('#elder-toggle').click();
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll in 长者模式');
  const sb = await page.locator('#apply-submit').boundingBox();
  assert.ok(sb.height >= 48, `submit button ${sb.height}px tall in 长者模式`);
  await shot(page, 'cases-apply-elder.png');
  await page.locator('#elder-toggle').click();
  await page.setViewportSize({ width: 1280, height: 900 });

  // Submit: the success view with the 受理编号.
  await page.locator('#apply-submit').click();
  await page.locator('#apply-done').waitFor();
  assert.equal(await page.locator('#case-no').textContent(), applied.caseNo);
  assert.match(applied.caseNo, /^ZS\d{13}$/);
  assert.match(await page.locator('#apply-done').textContent(), /申请已提交/);
  assert.equal(await page.locator('#apply-steps [aria-current="step"]').getAttribute('data-step'), '3');
  await shot(page, 'cases-apply-done.png');
  c = await caseJson(page, applied.id);
  assert.equal(c.status, 'submitted');
  assert.equal(c.channel, 'online');

  // Its page: 已提交, the timeline so far, and the withdraw button.
  await page.locator('#view-case').click();
  await page.waitForURL(new RegExp(`/cases/${applied.id}$`));
  await page.locator('#case-status').waitFor();
  assert.equal(await page.locator('#case-status').textContent(), '已提交');
  assert.deepEqual(await page.locator('#timeline .tl-label').allTextContents(), ['创建申请', '提交申请']);
  assert.equal(await page.locator('#withdraw').count(), 1, 'the applicant may withdraw while it is open');
  assert.match(await page.locator('#case-deadline').textContent(), /受理后开始按工作日计算/);

  // Coming back to apply again shows the application under way instead of a second form.
  await page.goto(`${srv.url}/apply/${BIRTH}`);
  await page.locator('#apply-under-way').waitFor();
  assert.match(await page.locator('#apply-under-way').textContent(), new RegExp(applied.caseNo));
  await assertClean();
});

test('staff: queue with filters, accept (a reason is insisted on for a return), assign, note; approver approves; staff deliver', async (t) => {
  assert.ok(applied.id, 'the first test applied');
  const staff = await open(t);
  const page = staff.page;
  await login(page, 'staff');
  await page.locator('#nav-list a', { hasText: '办件队列' }).click();
  await page.waitForURL(/\/work\/queue$/);
  await page.locator('#queue-table, .queue-box .notice').first().waitFor();
  // Counters are filled in from the API's totals.
  await page.waitForFunction(() => [...document.querySelectorAll('#queue-counters .counter-n')].every((e) => e.textContent !== '…'));
  const todo = await (await page.request.get(`${srv.url}/api/v1/cases?status=todo&limit=1`)).json();
  assert.equal(await page.locator('#queue-counters [data-view="todo"] .counter-n').textContent(), String(todo.total));
  await assertQueueRows(page);
  await page.locator('h1').focus();
  await shot(page, 'cases-queue.png');

  // Find the new application: the search goes into the URL and to the API.
  await page.locator('#queue-filters [name=q]').fill(applied.caseNo);
  await page.locator('#queue-filters button[type=submit]').click();
  await page.waitForURL(/q=ZS/);
  await page.locator('#queue-count').waitFor();
  assert.equal(await page.locator('#queue-table tbody tr').count(), 1);
  const row = page.locator(`#queue-table tbody tr[data-id="${applied.id}"]`);
  assert.match(await row.textContent(), new RegExp(applied.caseNo));
  assert.match(await row.textContent(), /已提交/);
  assert.match(await row.textContent(), /受理后起算/);
  assert.match(await row.textContent(), /未分派/);
  // Combined with 分派给我 it is not there (nobody has it yet).
  await page.locator('#queue-filters [name=assignee]').selectOption('me');
  await page.waitForURL(/assignee=me/);
  await page.locator('.queue-box .notice').waitFor();
  assert.match(await page.locator('.queue-box').textContent(), /没有符合条件的办件/);
  await page.locator('#queue-filters [name=assignee]').selectOption('');
  await page.waitForURL((u) => !u.search.includes('assignee'));
  await page.locator('#queue-count').waitFor();

  // Open the case and accept it: the clock starts.
  await page.locator(`#queue-table tr[data-id="${applied.id}"] a`).click();
  await page.waitForURL(new RegExp(`/cases/${applied.id}$`));
  await page.locator('#case-actions').waitFor();
  const actions = await page.locator('#case-actions button').evaluateAll((bs) => bs.map((b) => b.dataset.action));
  const c0 = await caseJson(page, applied.id);
  assert.deepEqual(actions, c0.actions, 'the buttons are the actions the API allows');
  // 退回补正 asks for a reason and will not go without one; cancel leaves the case alone.
  await page.locator('#case-actions button[data-action="return"]').click();
  const dlg = page.locator('dialog.reason-dialog');
  await dlg.waitFor();
  await dlg.locator('button[type=submit]').click();
  assert.equal(await dlg.locator('.field-error').textContent(), '请填写理由');
  assert.equal(await dlg.locator('textarea').getAttribute('aria-invalid'), 'true');
  await dlg.locator('button', { hasText: '取消' }).click();
  await dlg.waitFor({ state: 'detached' });
  assert.equal((await caseJson(page, applied.id)).status, 'submitted', 'nothing happened');

  await page.locator('#case-actions button[data-action="accept"]').click();
  await page.waitForFunction(() => document.querySelector('#case-status')?.textContent === '已受理');
  assert.match(await page.locator('#case-msg').textContent(), /已受理/);
  const acc = await caseJson(page, applied.id);
  assert.ok(acc.deadline_at, 'deadline set on acceptance');
  assert.match(await page.locator('#case-deadline').textContent(), /\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}/);
  if (acc.due === 'due_soon') assert.match(await page.locator('#case-deadline').textContent(), /即将到期/);
  if (acc.due === 'on_time') assert.match(await page.locator('#case-deadline').textContent(), /按时办理/);
  assert.match(await page.locator('#case-deadline').textContent(), /剩余|今日到期/);

  // Assign to me, and a note on the timeline.
  await page.locator('#assign-me').click();
  await page.waitForFunction(() => /（我）/.test(document.querySelector('#assignee')?.textContent || ''));
  await page.locator('#note-form textarea').fill('已电话联系申请人，材料齐全。');
  await page.locator('#note-form button[type=submit]').click();
  await page.waitForFunction(() => /已电话联系申请人/.test(document.querySelector('#timeline')?.textContent || ''));
  await page.locator('#case-title').focus();
  await shot(page, 'cases-case-staff.png');
  await staff.assertClean();

  // The approver reviews and approves.
  const appr = await open(t);
  await login(appr.page, 'approver');
  await appr.page.goto(`${srv.url}/work/queue?status=accepted&q=${applied.caseNo}`);
  await appr.page.locator(`#queue-table tr[data-id="${applied.id}"] a`).click();
  await appr.page.locator('#case-actions button[data-action="review"]').click();
  await appr.page.waitForFunction(() => document.querySelector('#case-status')?.textContent === '审查中');
  await appr.page.locator('#case-actions button[data-action="approve"]').click();
  const d2 = appr.page.locator('dialog.reason-dialog');
  await d2.locator('textarea').fill('材料齐全，符合条件。');
  await d2.locator('button[type=submit]').click();
  await appr.page.waitForFunction(() => document.querySelector('#case-status')?.textContent === '已批准');
  assert.equal(await appr.page.locator('#case-actions button[data-action="deliver"]').count(), 1);
  await appr.assertClean();

  // Staff deliver (after a reload the page shows the approver's decision).
  await page.reload();
  await page.locator('#case-actions button[data-action="deliver"]').click();
  const d3 = page.locator('dialog.reason-dialog');
  await d3.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#case-status')?.textContent === '已办结');
  assert.equal(await page.locator('#case-actions').count(), 0, 'nothing left to do');
  const done = await caseJson(page, applied.id);
  assert.equal(done.status, 'delivered');
  assert.deepEqual(done.events.map((e) => e.action).filter((a) => a !== 'edit'), ['create', 'submit', 'accept', 'assign', 'note', 'review', 'approve', 'deliver']);
  await staff.assertClean();
});

test('the staff queue on a phone and in 长者模式; the supervisor\'s overdue view', async (t) => {
  const { page, assertClean } = await open(t, { viewport: PHONE });
  await login(page, 'staff');
  await page.goto(`${srv.url}/work/queue`);
  await page.locator('#queue-table, .queue-box .notice').first().waitFor();
  if (await page.locator('#queue-table').count()) assert.equal(await page.locator('#queue-table thead').isVisible(), false, 'rows are cards on a phone');
  await assertQueueRows(page);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll on a phone');
  await page.locator('h1').focus();
  await shot(page, 'cases-queue-phone.png');
  await page.locator('#elder-toggle').click();
  const px = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  assert.ok(px >= 22, `elder root font ${px}px`);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll in 长者模式');
  if (await page.locator('#queue-table').count()) {
    const link = await page.locator('#queue-table tbody tr a').first().boundingBox();
    assert.ok(link.height >= 22, `a case link ${link.height}px tall in 长者模式`);
  }
  await shot(page, 'cases-queue-elder.png');
  await assertClean();

  // The supervisor's nav leads to the overdue view; it lists only overdue cases.
  const sup = await open(t);
  await login(sup.page, 'supervisor');
  await sup.page.locator('#nav-list a', { hasText: '超期督办' }).click();
  await sup.page.waitForURL(/\/work\/queue\?due=overdue$/);
  await sup.page.locator('h1', { hasText: '超期办件' }).waitFor();
  await sup.page.locator('.queue-box .notice, #queue-table').first().waitFor();
  const overdue = await (await sup.page.request.get(`${srv.url}/api/v1/cases?due=overdue&limit=200`)).json();
  if (overdue.total === 0) assert.match(await sup.page.locator('.queue-box').textContent(), /没有符合条件的办件/);
  else {
    for (const due of await sup.page.locator('#queue-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.due))) assert.equal(due, 'overdue');
    assert.ok(await sup.page.locator('#queue-table tr.is-overdue .due-overdue').count() > 0, 'red 已超期 flags');
  }
  await sup.assertClean();

  // Citizens are kept out of the queue.
  const cit = await open(t);
  await login(cit.page, 'citizen');
  await cit.page.goto(`${srv.url}/work/queue`);
  await cit.page.locator('h1', { hasText: '无权访问' }).waitFor();
  await cit.assertClean();
});

test('back as the citizen: 我的办件 and the case page show 已办结, the timeline, the materials; 好差评', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'citizen');
  await page.locator('#nav-list a', { hasText: '我的办件' }).click();
  await page.waitForURL(/\/me\/cases$/);
  const card = page.locator(`#my-cases .case-card[data-id="${applied.id}"]`);
  await card.waitFor();
  assert.match(await card.textContent(), /已办结/);
  assert.match(await card.textContent(), new RegExp(applied.caseNo));
  await page.locator('h1').focus();
  await shot(page, 'cases-my.png');
  await card.locator('.case-card-name').click();
  await page.waitForURL(new RegExp(`/cases/${applied.id}$`));
  await page.locator('#case-status').waitFor();
  assert.equal(await page.locator('#case-status').textContent(), '已办结');
  assert.equal(await page.locator('#case-no').textContent(), applied.caseNo);
  const labels = await page.locator('#timeline .tl-label').allTextContents();
  assert.deepEqual(labels, ['创建申请', '提交申请', '窗口受理', '分派经办人', '备注', '进入审查', '审批通过', '办结送达']);
  assert.match(await page.locator('#timeline').textContent(), /王窗口/);
  assert.match(await page.locator('#case-deadline').textContent(), /按时办结|超期办结/);
  assert.equal(await page.locator('#withdraw').count(), 0, 'no withdrawing a finished case');

  // Materials: how each one was satisfied.
  const c = await caseJson(page, applied.id);
  const rows = page.locator('#case-materials tbody tr');
  assert.equal(await rows.count(), c.materials.length);
  const how = { licence: /免提交/, upload: /已上传/, form: /在线填写/, commitment: /告知承诺/ };
  for (const [i, m] of c.materials.entries()) {
    if (how[m.satisfied_by]) assert.match(await rows.nth(i).textContent(), how[m.satisfied_by], m.name);
  }
  // The form as submitted, the ID number masked until asked for.
  assert.match(await page.locator('#case-form').textContent(), /张小舟/);
  assert.doesNotMatch(await page.locator('#case-form').textContent(), /330902195203140021/);

  // 好差评 after delivery, when the rating API is there.
  const rating = await page.request.get(`${srv.url}/api/v1/cases/${applied.id}/rating`);
  if (rating.status() === 200) {
    const form = page.locator('#rating-form');
    await form.waitFor();
    await form.locator('#rating-submit').click();
    assert.match(await form.locator('.rating-group[data-key="overall"] .field-error').textContent(), /请评价/);
    for (const g of await form.locator('.rating-group').all()) await g.locator('.rating-label', { hasText: /^非常满意$/ }).click();
    await form.locator('textarea').fill('在家就办好了，不用坐船去市里。');
    await page.locator('#case-title').focus();
    await shot(page, 'cases-case-rating.png');
    await form.locator('#rating-submit').click();
    await page.locator('#rating-done').waitFor();
    assert.match(await page.locator('#rating-done').textContent(), /非常满意/);
    const r = await (await page.request.get(`${srv.url}/api/v1/cases/${applied.id}/rating`)).json();
    assert.equal(r.rating.overall, 5);
    assert.equal(r.rating.comment, '在家就办好了，不用坐船去市里。');
  } else {
    assert.equal(await page.locator('#rating-form').count(), 0, 'no rating form without the API');
  }
  await page.locator('#case-title').focus();
  await shot(page, 'cases-case.png');

  await page.setViewportSize(PHONE);
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll on a phone');
  await shot(page, 'cases-case-phone.png');
  await page.locator('#elder-toggle').click();
  assert.ok((await overflowX(page)) <= 0, 'no horizontal scroll in 长者模式');
  await shot(page, 'cases-case-elder.png');
  await page.locator('#elder-toggle').click();

  // /me links to 我的办件.
  await page.goto(`${srv.url}/me`);
  await page.locator('#me-cases li a').first().waitFor();
  assert.equal(await page.locator('#me-cases-link').getAttribute('href'), '/me/cases');
  await assertClean();
});

test('一件事: one form and one set of materials for a bundle, then its members and progress bar', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'citizen');
  const bundle = await (await page.request.get(`${srv.url}/api/v1/bundles/YJS-011`)).json();
  const codes = bundle.items.map((x) => x.code || x);
  // Reached from a member item's guide: its 所属“一件事” section links to the bundle application.
  await page.goto(`${srv.url}/items/${codes[0]}`);
  await page.locator('.bundle[data-code="YJS-011"] .bundle-apply').click();
  await page.waitForURL(/\/apply\/bundle\/YJS-011$/);
  await page.locator('#apply-form').waitFor();
  assert.equal(await page.locator('#apply-title').textContent(), bundle.name);
  assert.match(await page.locator('.apply-head .page-sub').textContent(), new RegExp(`一次提交 ${bundle.items.length} 个事项`));
  await fillRequired(page);
  await page.locator('#apply-next').click();

  // The materials of every member item, each name once.
  await page.locator('#apply-materials').waitFor();
  const names = new Set();
  for (const code of codes) {
    const it = await (await page.request.get(`${srv.url}/api/v1/items/${code}`)).json();
    for (const m of it.materials) names.add(m.name);
  }
  assert.equal(await page.locator('#apply-materials .mat-card').count(), names.size);
  // Upload what is asked for; the server may still refuse an expected e-licence, which
  // then asks for a file too (at most once per material).
  for (let round = 0; round <= names.size; round++) {
    const todo = await page
      .locator('#apply-materials .mat-card[data-by="none"]')
      .evaluateAll((els) => els.filter((e) => e.querySelector('.req-yes')).map((e) => e.dataset.name));
    for (const name of todo) {
      const card = page.locator(`#apply-materials .mat-card[data-name="${name}"]`);
      await card.locator('input[type=file]').setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: PDF });
      await page.locator(`#apply-materials .mat-card[data-name="${name}"][data-by="upload"]`).waitFor();
    }
    await page.locator('#apply-submit').click();
    await page.locator('#apply-done, #apply-materials .field-error:not([hidden]), #apply-step-2 .form-alert:not([hidden])').first().waitFor();
    if (await page.locator('#apply-done').count()) break;
    assert.equal(await page.locator('#apply-step-2 .form-alert:not([hidden])').count(), 0, 'errors name a material');
  }
  await page.locator('#apply-done').waitFor();
  const caseNo = await page.locator('#case-no').textContent();
  assert.match(caseNo, /^ZS\d{13}$/);
  assert.equal(await page.locator('.done-members li').count(), bundle.items.length);

  await page.locator('#view-case').click();
  await page.locator('#case-members').waitFor();
  const c = await (await page.request.get(`${srv.url}${new URL(page.url()).pathname.replace('/cases/', '/api/v1/cases/')}`)).json();
  assert.equal(c.kind, 'bundle');
  assert.equal(await page.locator('#case-members .member').count(), c.members.length);
  const bar = page.locator('#case-members progress');
  assert.equal(await bar.getAttribute('max'), String(c.progress.total));
  assert.equal(await bar.getAttribute('value'), String(c.progress.done));
  assert.equal(await page.locator('#case-sec-materials').count(), 0, 'materials live on the members');
  await page.locator('#case-title').focus();
  await shot(page, 'cases-bundle.png');
  // A member opens as a case of its own.
  await page.locator('#case-members .member-name').first().click();
  await page.locator('#case-materials').waitFor();
  assert.equal(await page.locator('#case-title').textContent(), c.members[0].item_name);
  await assertClean();
});

test('告知承诺, a return for correction with its reason, the correction, and withdrawing', async (t) => {
  const CODE = '330900-GA-100006'; // 户口迁入登记（人才引进落户）: takes 告知承诺
  const { page, assertClean } = await open(t);
  await login(page, 'citizen');
  await page.goto(`${srv.url}/apply/${CODE}`);
  await page.locator('#apply-form').waitFor();
  await fillRequired(page);
  await page.locator('#apply-next').click();
  await page.locator('#apply-materials').waitFor();
  const id = (await (await page.request.get(`${srv.url}/api/v1/cases?mine=1&item=${CODE}&status=draft`)).json()).items[0].id;
  let c = await caseJson(page, id);
  const missing = c.materials.filter((m) => m.required && m.satisfied_by === 'none');
  assert.ok(missing.length >= 1);
  // The first missing material by a signed commitment (a dialog with the commitment's text).
  const m0 = missing[0];
  await page.locator(`#apply-materials .mat-card[data-idx="${m0.idx}"] .commit-btn`).click();
  const dlg = page.locator('dialog.reason-dialog');
  assert.match(await dlg.textContent(), /本人承诺/);
  await dlg.locator('button[type=submit]').click();
  await page.locator(`#apply-materials .mat-card[data-idx="${m0.idx}"][data-by="commitment"]`).waitFor();
  for (const m of missing.slice(1)) {
    await page.locator(`#apply-materials .mat-card[data-idx="${m.idx}"] input[type=file]`).setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: PDF });
    await page.locator(`#apply-materials .mat-card[data-idx="${m.idx}"][data-by="upload"]`).waitFor();
  }
  await page.locator('#apply-submit').click();
  await page.locator('#apply-done').waitFor();
  c = await caseJson(page, id);
  assert.equal(c.path, 'commitment');
  assert.equal(c.materials.find((m) => m.idx === m0.idx).satisfied_by, 'commitment');

  // Staff return it with a reason.
  const staff = await open(t);
  await login(staff.page, 'staff');
  await staff.page.goto(`${srv.url}/cases/${id}`);
  await staff.page.locator('#case-actions button[data-action="return"]').click();
  const rd = staff.page.locator('dialog.reason-dialog');
  await rd.locator('textarea').fill('学历证书扫描件不清晰，请重新上传。');
  await rd.locator('button[type=submit]').click();
  await staff.page.waitForFunction(() => document.querySelector('#case-status')?.textContent === '退回补正');
  await staff.assertClean();

  // The citizen sees why, corrects on the apply page and submits again.
  await page.goto(`${srv.url}/cases/${id}`);
  await page.locator('#case-banner').waitFor();
  assert.match(await page.locator('#case-banner').textContent(), /学历证书扫描件不清晰/);
  await page.locator('#continue-apply').click();
  await page.waitForURL(new RegExp(`/apply/${CODE}\\?case=${id}$`));
  await page.locator('#apply-form').waitFor();
  assert.match(await page.locator('.notice-warn').textContent(), /学历证书扫描件不清晰/);
  await page.locator('#apply-next').click();
  await page.locator('#apply-materials').waitFor();
  const m1 = missing[1] || missing[0];
  await page.locator(`#apply-materials .mat-card[data-idx="${m1.idx}"] input[type=file]`).setInputFiles({ name: '学历证书.pdf', mimeType: 'application/pdf', buffer: PDF });
  await page.locator(`#apply-materials .mat-card[data-idx="${m1.idx}"]`, { hasText: '学历证书.pdf' }).waitFor();
  assert.equal(await page.locator('#apply-submit').textContent(), '重新提交申请');
  await page.locator('#apply-submit').click();
  await page.locator('#apply-done').waitFor();
  assert.equal((await caseJson(page, id)).status, 'submitted');

  // Withdraw from its page, through the confirmation dialog.
  await page.locator('#view-case').click();
  await page.locator('#withdraw').click();
  const wd = page.locator('dialog.reason-dialog');
  await wd.locator('textarea').fill('已到窗口办理');
  await wd.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#case-status')?.textContent === '已撤回');
  assert.equal(await page.locator('#withdraw').count(), 0);
  assert.match(await page.locator('#timeline').textContent(), /已到窗口办理/);
  await assertClean();
});
