// 好差评 through the API: only the applicant rates a finished case, once; another
// user gets 404; a 差评 opens a ticket for the department that goes callback →
// rectify → report → close in that order; the rater hears the result in the
// in-app inbox (and by SMS, masked in the outbox); the public department
// figures carry no personal data. The case rows are inserted directly, so this
// test does not depend on the applications API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { dbQuery, errorOf, makeTempDir, startServer } from './server.mjs';

const DEPT = '舟山市测试局';
let srv;
let tmp;
let smsLog;
const s = {};
const cases = {};

function insertCase(applicantLogin, status, channel, no) {
  const id = dbQuery(srv.dbPath,
    `INSERT INTO cases (case_no, kind, item_code, item_name, applicant_id, channel, department, status, form, created_at, updated_at, delivered_at)
     SELECT '${no}', 'item', 'T-001', '测试事项', id, '${channel}', '${DEPT}', '${status}', '{}',
            '2026-01-05T02:00:00Z', '2026-01-05T02:00:00Z', '2026-01-06T02:00:00Z'
     FROM users WHERE login = '${applicantLogin}' RETURNING id`);
  return Number(id);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  tmp = makeTempDir('isle-ratings-');
  smsLog = path.join(tmp, 'sms.log');
  srv = await startServer({ env: { ISLE_SMS_LOG: smsLog, ISLE_NOTIFY_POLL_MS: '100' } });
  dbQuery(srv.dbPath, `UPDATE users SET department = '${DEPT}', phone = '13900000001' WHERE login = 'staff'`);
  for (const l of ['citizen', 'company', 'staff', 'approver', 'supervisor', 'admin']) s[l] = await srv.loginToken(l);
  cases.online = insertCase('citizen', 'delivered', 'online', 'ZSTEST0001');
  cases.window = insertCase('citizen', 'denied', 'window', 'ZSTEST0002');
  cases.open = insertCase('citizen', 'in_review', 'online', 'ZSTEST0003');
});
after(async () => {
  await srv?.stop();
  if (tmp && !process.env.ISLE_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

const dims = (v) => ({ efficiency: v, guide_accuracy: v, convenience: v, usability: v });

test('only the applicant sees and rates a finished case; others get 404', async () => {
  const mine = await srv.req('GET', `/api/v1/cases/${cases.online}/rating`, { auth: s.citizen });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.json.can_rate, true);
  assert.equal(mine.json.rating, null);
  assert.deepEqual(mine.json.dimensions.map((d) => d.key),
    ['overall', 'efficiency', 'guide_accuracy', 'convenience', 'usability']);
  assert.equal(mine.json.dimensions[1].label, '办事效率');

  const other = await srv.req('GET', `/api/v1/cases/${cases.online}/rating`, { auth: s.company });
  assert.equal(other.status, 404);
  const otherPost = await srv.req('POST', `/api/v1/cases/${cases.online}/rating`, {
    auth: s.company, json: { overall: 5, dims: dims(5) },
  });
  assert.equal(otherPost.status, 404);
  assert.equal((await srv.req('GET', '/api/v1/cases/999999/rating', { auth: s.citizen })).status, 404);

  const early = await srv.req('POST', `/api/v1/cases/${cases.open}/rating`, {
    auth: s.citizen, json: { overall: 5, dims: dims(5) },
  });
  assert.equal(early.status, 409);
  assert.equal(errorOf(early).field, 'status');

  const noDims = await srv.req('POST', `/api/v1/cases/${cases.online}/rating`, {
    auth: s.citizen, json: { overall: 5, dims: { efficiency: 5 } },
  });
  assert.equal(noDims.status, 400);
  assert.equal(errorOf(noDims).field, 'dims.guide_accuracy');
  const offlineDims = await srv.req('POST', `/api/v1/cases/${cases.window}/rating`, {
    auth: s.citizen, json: { overall: 5, dims: dims(5) },
  });
  assert.equal(offlineDims.status, 400);
  assert.equal(errorOf(offlineDims).field, 'dims.service_efficiency');
  const tooLong = await srv.req('POST', `/api/v1/cases/${cases.online}/rating`, {
    auth: s.citizen, json: { overall: 5, dims: dims(5), comment: '好'.repeat(501) },
  });
  assert.equal(tooLong.status, 400);
  assert.equal(errorOf(tooLong).field, 'comment');
  const badLevel = await srv.req('POST', `/api/v1/cases/${cases.online}/rating`, {
    auth: s.citizen, json: { overall: 6, dims: dims(5) },
  });
  assert.equal(badLevel.status, 400);
  assert.equal(errorOf(badLevel).field, 'overall');

  const ok = await srv.req('POST', `/api/v1/cases/${cases.window}/rating`, {
    auth: s.citizen,
    json: { overall: 5, dims: { service_efficiency: 5, service_level: 5, service_attitude: 4 }, comment: '窗口服务很耐心' },
  });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.ticket_opened, false);
  assert.equal(ok.json.rating.overall_label, '非常满意');
  assert.deepEqual(ok.json.rating.dims, { service_efficiency: 5, service_level: 5, service_attitude: 4 });
  assert.equal(ok.json.can_rate, false);
  const twice = await srv.req('POST', `/api/v1/cases/${cases.window}/rating`, {
    auth: s.citizen, json: { overall: 4, dims: { service_efficiency: 4, service_level: 4, service_attitude: 4 } },
  });
  assert.equal(twice.status, 409);

  const staffView = await srv.req('GET', `/api/v1/cases/${cases.window}/rating`, { auth: s.staff });
  assert.equal(staffView.status, 200);
  assert.equal(staffView.json.rating.comment, '窗口服务很耐心');
});

test('a 差评 opens a ticket: callback → rectify → report → close, and the rater is told', async () => {
  const bad = await srv.req('POST', `/api/v1/cases/${cases.online}/rating`, {
    auth: s.citizen, json: { overall: 2, dims: dims(2), comment: '办事指南写得不清楚，跑了两趟' },
  });
  assert.equal(bad.status, 201, bad.text);
  assert.equal(bad.json.ticket_opened, true);

  // the department's staff see it and were told; a citizen may not list tickets
  assert.equal((await srv.req('GET', '/api/v1/rating-tickets', { auth: s.citizen })).status, 403);
  const list = await srv.req('GET', '/api/v1/rating-tickets?status=open', { auth: s.staff });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.total, 1);
  const t = list.json.items[0];
  assert.equal(t.case_id, cases.online);
  assert.equal(t.department, DEPT);
  assert.equal(t.overall, 2);
  assert.equal(t.overall_label, '不满意');
  assert.equal(t.rater_phone, '139****1234');
  assert.equal(t.overdue, false);
  assert.match(t.rectify_due, /^\d{4}-\d\d-\d\dT09:30:00Z$/, 'ends 17:30 Shanghai');
  const other = await srv.req('GET', `/api/v1/rating-tickets?department=${encodeURIComponent('舟山市民政局')}`, { auth: s.staff });
  assert.equal(other.status, 403);
  const staffInbox = await srv.req('GET', '/api/v1/me/notifications', { auth: s.staff });
  assert.ok(staffInbox.json.items.some((n) => n.title === '收到差评工单' && n.link === `/rating-tickets/${t.id}`),
    JSON.stringify(staffInbox.json));

  const step = (who, action, note) => srv.req('POST', `/api/v1/rating-tickets/${t.id}/${action}`, {
    auth: s[who], json: note === undefined ? {} : { note },
  });
  assert.equal((await step('staff', 'rectify', '修订办事指南')).status, 409, 'callback comes first');
  assert.equal((await step('staff', 'close')).status, 409);
  assert.equal((await step('admin', 'callback', '电话回访')).status, 403);
  const noNote = await step('staff', 'callback', '');
  assert.equal(noNote.status, 400);
  assert.equal(errorOf(noNote).field, 'note');

  let r = await step('staff', 'callback', '已电话回访，群众反映指南中材料说明不清');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ticket.status, 'called_back');
  assert.ok(r.json.ticket.callback_at);
  assert.equal((await step('staff', 'report', '已修订')).status, 409, 'rectify comes before report');
  r = await step('approver', 'rectify', '修订办事指南第三项材料说明，增加示例');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ticket.status, 'rectifying');
  r = await step('supervisor', 'report', '办事指南已修订并增加填写示例');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.ticket.result_reported_at);
  r = await step('staff', 'close');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ticket.status, 'closed');
  assert.equal((await step('staff', 'close')).status, 409);

  const audit = dbQuery(srv.dbPath, `SELECT action FROM audit_log WHERE object_type = 'rating_ticket' AND object_id = '${t.id}' ORDER BY id`).split('\n');
  assert.deepEqual(audit, ['rating_ticket.open', 'rating_ticket.callback', 'rating_ticket.rectify',
    'rating_ticket.report', 'rating_ticket.close']);

  // the rater's inbox
  const count = await srv.req('GET', '/api/v1/me/notifications/unread-count', { auth: s.citizen });
  assert.equal(count.status, 200);
  assert.ok(count.json.unread >= 1);
  const inbox = await srv.req('GET', '/api/v1/me/notifications?unread=1', { auth: s.citizen });
  const result = inbox.json.items.find((n) => n.template === 'rating_ticket_result');
  assert.ok(result, JSON.stringify(inbox.json));
  assert.match(result.body, /ZSTEST0001/);
  assert.match(result.body, /办事指南已修订并增加填写示例/);
  assert.equal(result.read_at, null);
  const read = await srv.req('POST', `/api/v1/me/notifications/${result.id}/read`, { auth: s.citizen });
  assert.equal(read.status, 200, read.text);
  assert.ok(read.json.notification.read_at);

  // and by SMS: masked in the outbox, sent once by the worker, masked in the log
  const out = await srv.req('GET', '/api/v1/outbox', { auth: s.supervisor });
  assert.equal(out.status, 200, out.text);
  const sms = out.json.items.find((o) => o.template === 'rating_ticket_result');
  assert.ok(sms, JSON.stringify(out.json));
  assert.equal(sms.phone, '139****1234');
  assert.doesNotMatch(out.text, /13905801234/);
  for (let i = 0; i < 100; i++) {
    if (dbQuery(srv.dbPath, `SELECT status FROM outbox WHERE id = ${sms.id}`) === 'sent') break;
    await sleep(100);
  }
  assert.equal(dbQuery(srv.dbPath, `SELECT status FROM outbox WHERE id = ${sms.id}`), 'sent');
  const lines = fs.readFileSync(smsLog, 'utf8').split('\n').filter((l) => l.split('\t')[1] === String(sms.id));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /\t139\*\*\*\*1234\tticket:\d+:result\t【舟山政务服务】/);
  assert.doesNotMatch(fs.readFileSync(smsLog, 'utf8'), /13905801234/);
  assert.doesNotMatch(srv.log(), /13905801234/);
});

test('public department figures: counts, averages, callback and closure rates, no personal data', async () => {
  const r = await srv.req('GET', '/api/v1/ratings/departments');
  assert.equal(r.status, 200, r.text);
  const d = r.json.items.find((x) => x.department === DEPT);
  assert.ok(d, r.text);
  assert.equal(d.count, 2);
  assert.equal(d.average, 3.5);
  assert.deepEqual(d.levels, { 1: 0, 2: 1, 3: 0, 4: 0, 5: 1 });
  assert.equal(d.dimensions.efficiency, 2);
  assert.equal(d.dimensions.service_attitude, 4);
  assert.equal(d.bad_count, 1);
  assert.equal(d.tickets, 1);
  assert.equal(d.callback_rate, 1);
  assert.equal(d.closure_rate, 1);
  assert.equal(r.json.callback_goal, 1);
  assert.equal(r.json.labels.guide_accuracy, '办事指南精确度');
  assert.doesNotMatch(r.text, /1390|citizen|张阿婆|办事指南写得不清楚/);
});
