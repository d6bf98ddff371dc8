// Applications (一网通办): apply with reused, committed and uploaded materials,
// intake, review, decision, delivery, the working-day deadline, roles, ownership,
// bad input and double submits.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { dbQuery, errorOf, runIsle, startServer } from './server.mjs';

let srv;
let citizen, staff, approver, supervisor, admin;
before(async () => {
  srv = await startServer({ env: { ISLE_CASES_SCAN_MS: '200' } });
  citizen = await srv.loginToken('citizen');
  staff = await srv.loginToken('staff');
  approver = await srv.loginToken('approver');
  supervisor = await srv.loginToken('supervisor');
  admin = await srv.loginToken('admin');
});
after(async () => { await srv?.stop(); });

const BIRTH = '330900-GA-100001'; // 出生登记: form fields of its own, licences and a paper form

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

async function upload(auth, bytes, name) {
  const fd = new FormData();
  fd.append('file', new Blob([bytes]), name);
  const r = await srv.req('POST', '/api/v1/uploads', { auth, body: fd });
  assert.equal(r.status, 201, r.text);
  return r.json.files[0].id;
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

/** Apply for item as auth with form: a draft, an upload for every required material
 * the server could not fill, then submit. Returns the submitted case. */
async function applyFull(auth, item, form) {
  const d = await srv.req('POST', '/api/v1/cases', { auth, json: { item_code: item, form, submit: false } });
  assert.equal(d.status, 201, d.text);
  const missing = d.json.materials.filter((m) => m.required && m.satisfied_by === 'none');
  if (missing.length) {
    const pdf = await upload(auth, PDF, 'scan.pdf');
    const put = await srv.req('PUT', `/api/v1/cases/${d.json.id}`, {
      auth, json: { materials: missing.map((m) => ({ idx: m.idx, by: 'upload', file_id: pdf })) },
    });
    assert.equal(put.status, 200, put.text);
  }
  const s = await srv.req('POST', `/api/v1/cases/${d.json.id}/actions/submit`, { auth });
  assert.equal(s.status, 200, s.text);
  return s.json;
}

function birthForm() {
  return {
    name: '张阿婆', id_number: '330902195203140021', phone: '13905801234',
    baby_name: '张小舟', baby_sex: '女', birth_date: '2026-11-20', birth_place: '舟山医院', follow: '随母',
  };
}

test('the application form of an item has the applicant fields and its own', async () => {
  const r = await srv.req('GET', `/api/v1/items/${BIRTH}/form`);
  assert.equal(r.status, 200, r.text);
  const names = r.json.fields.map((f) => f.name);
  for (const n of ['name', 'id_number', 'phone', 'baby_name', 'birth_date', 'note']) assert.ok(names.includes(n), n);
  const company = await srv.req('GET', `/api/v1/items/${BIRTH}/form`, { auth: await srv.loginToken('company') });
  assert.ok(company.json.fields.some((f) => f.name === 'credit_code'));
  assertError(await srv.req('GET', '/api/v1/items/NOPE/form'), 404, 'not_found');
});

test('apply → upload → submit → accept (deadline) → review → approve → deliver, with the timeline', async () => {
  // A draft first: the server decides which materials come from the e-licence library.
  const draft = await srv.req('POST', '/api/v1/cases', {
    auth: citizen, json: { item_code: BIRTH, form: birthForm(), submit: false },
  });
  assert.equal(draft.status, 201, draft.text);
  const c = draft.json;
  assert.match(c.case_no, /^ZS\d{6}\d{7}$/);
  assert.equal(c.status, 'draft');
  assert.equal(c.item_name, '出生登记');
  assert.equal(c.materials.length, 5);
  const form = c.materials.find((m) => m.name.includes('申报表'));
  assert.equal(form.satisfied_by, 'form', 'the online form replaces the paper form');

  // Submitting with a required material missing is refused, naming it.
  const missing = c.materials.filter((m) => m.required && m.satisfied_by === 'none');
  assert.ok(missing.length >= 1, 'at least the birth certificate must be handed in');
  const early = await srv.req('POST', `/api/v1/cases/${c.id}/actions/submit`, { auth: citizen });
  assertError(early, 400, 'invalid_argument', `materials[${missing[0].idx}]`);

  // An executable renamed .pdf is refused by its content.
  const exe = await upload(citizen, Buffer.from('MZ\x90\x00\x03\x00\x00\x00fake exe'), 'scan.pdf');
  const bad = await srv.req('PUT', `/api/v1/cases/${c.id}`, {
    auth: citizen, json: { materials: [{ idx: missing[0].idx, by: 'upload', file_id: exe }] },
  });
  assertError(bad, 415, 'unsupported_media_type', `materials[${missing[0].idx}].file_id`);
  // 告知承诺 only where the item allows it.
  const commit = await srv.req('PUT', `/api/v1/cases/${c.id}`, {
    auth: citizen, json: { materials: [{ idx: missing[0].idx, by: 'commitment' }] },
  });
  assertError(commit, 400, 'invalid_argument', `materials[${missing[0].idx}]`);

  const pdf = await upload(citizen, PDF, '出生医学证明.pdf');
  const put = await srv.req('PUT', `/api/v1/cases/${c.id}`, {
    auth: citizen, json: { materials: missing.map((m) => ({ idx: m.idx, by: 'upload', file_id: pdf })) },
  });
  assert.equal(put.status, 200, put.text);
  const sub = await srv.req('POST', `/api/v1/cases/${c.id}/actions/submit`, { auth: citizen });
  assert.equal(sub.status, 200, sub.text);
  assert.equal(sub.json.status, 'submitted');
  assert.deepEqual(sub.json.actions, ['withdraw']);

  // Roles: the applicant cannot accept; staff cannot approve.
  assertError(await srv.req('POST', `/api/v1/cases/${c.id}/actions/accept`, { auth: citizen }), 403, 'permission_denied');
  assertError(await srv.req('POST', `/api/v1/cases/${c.id}/actions/approve`, { auth: staff }), 403, 'permission_denied');
  // A reason is due for a return.
  assertError(await srv.req('POST', `/api/v1/cases/${c.id}/actions/return`, { auth: staff }), 400, 'invalid_argument', 'reason');

  const acc = await srv.req('POST', `/api/v1/cases/${c.id}/actions/accept`, { auth: staff });
  assert.equal(acc.status, 200, acc.text);
  assert.equal(acc.json.status, 'accepted');
  assert.ok(acc.json.deadline_at, 'accepting starts the statutory clock');
  assert.ok(acc.json.clock_start);
  assert.ok(['on_time', 'due_soon'].includes(acc.json.due), acc.json.due);
  // Deadline = workcal deadline of the item's promise days from acceptance.
  const promise = acc.json.promise_days;
  const local = new Date(Date.parse(acc.json.accepted_at) + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ');
  const wc = runIsle(['workcal', 'deadline', local, String(promise), '--json']);
  assert.equal(wc.status, 0, wc.stderr);
  const expected = JSON.parse(wc.stdout);
  const dueLocal = new Date(Date.parse(acc.json.deadline_at) + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ');
  assert.ok(JSON.stringify(expected).includes(dueLocal), `deadline ${dueLocal} in ${wc.stdout}`);

  // Staff open what was uploaded; the type comes from the content.
  const file = await srv.req('GET', `/api/v1/cases/${c.id}/materials/${missing[0].idx}/file`, { auth: staff });
  assert.equal(file.status, 200, file.text);
  assert.match(file.headers.get('content-type'), /^application\/pdf/);
  assert.ok(file.text.startsWith('%PDF-'));
  assertError(await srv.req('GET', `/api/v1/cases/${c.id}/materials/${form.idx}/file`, { auth: staff }), 404, 'not_found');

  // Stale version → 409.
  assertError(await srv.req('POST', `/api/v1/cases/${c.id}/actions/review`, { auth: approver, json: { version: 1 } }),
    409, 'conflict', 'version');
  for (const [who, act] of [[approver, 'review'], [approver, 'approve'], [staff, 'deliver']]) {
    const r = await srv.req('POST', `/api/v1/cases/${c.id}/actions/${act}`, { auth: who });
    assert.equal(r.status, 200, `${act}: ${r.text}`);
  }
  const done = await srv.req('GET', `/api/v1/cases/${c.id}`, { auth: citizen });
  assert.equal(done.json.status, 'delivered');
  assert.equal(done.json.status_label, '已办结');
  const seq = done.json.events.map((e) => e.action).filter((x) => x !== 'edit');
  assert.deepEqual(seq, ['create', 'submit', 'accept', 'review', 'approve', 'deliver']);
  assert.equal(done.json.events.find((e) => e.action === 'accept').actor_name, '王窗口');
  assert.equal(done.json.due, null, 'no clock once delivered');
  // A delivered case cannot be approved again.
  assertError(await srv.req('POST', `/api/v1/cases/${c.id}/actions/approve`, { auth: approver }), 409, 'invalid_state');

  // The applicant was told at every step (in-app; SMS through the outbox).
  const inbox = await srv.req('GET', '/api/v1/me/notifications?limit=50', { auth: citizen });
  assert.equal(inbox.status, 200, inbox.text);
  const mineNotes = inbox.json.items.filter((n) => n.link === `/cases/${c.id}`);
  assert.ok(mineNotes.length >= 4, `notifications for submit/accept/approve/deliver: ${mineNotes.length}`);
  assert.ok(mineNotes.some((n) => n.body.includes(c.case_no)));

  // 好差评: a 差评 opens a ticket for the department: callback → rectify → report → close.
  const rate = await srv.req('POST', `/api/v1/cases/${c.id}/rating`, {
    auth: citizen,
    json: { overall: 2, dims: { efficiency: 2, guide_accuracy: 3, convenience: 2, usability: 3 }, comment: '材料要求没说清楚' },
  });
  assert.equal(rate.status, 201, rate.text);
  assert.equal(rate.json.ticket_opened, true);
  const tickets = await srv.req('GET', '/api/v1/rating-tickets?status=open', { auth: staff });
  assert.equal(tickets.status, 200, tickets.text);
  const t = tickets.json.items.find((x) => x.case_id === c.id);
  assert.ok(t, 'the 差评 ticket is in the department queue');
  assertError(await srv.req('POST', `/api/v1/rating-tickets/${t.id}/rectify`, { auth: staff, json: { note: '先整改' } }), 409);
  for (const [step, note] of [['callback', '已电话回访，申请人反映材料清单不清楚'], ['rectify', '已修订办事指南的材料说明'],
    ['report', '已修订办事指南，感谢您的反馈'], ['close', '']]) {
    const r = await srv.req('POST', `/api/v1/rating-tickets/${t.id}/${step}`, { auth: staff, json: note ? { note } : {} });
    assert.equal(r.status, 200, `${step}: ${r.text}`);
  }
  const closed = await srv.req('GET', `/api/v1/rating-tickets/${t.id}`, { auth: staff });
  assert.equal(closed.json.ticket.status, 'closed');
  const told = await srv.req('GET', '/api/v1/me/notifications?limit=50', { auth: citizen });
  assert.ok(told.json.items.some((n) => n.body.includes('已修订办事指南')), 'the rater hears the result');

  // Every state change is in the audit trail, and the chain verifies.
  const a = await srv.req('GET', `/api/v1/audit?object_type=case&object_id=${c.id}`, { auth: admin });
  assert.equal(a.status, 200, a.text);
  const acts = a.json.items.map((x) => x.action);
  for (const x of ['case.create', 'case.submit', 'case.accept', 'case.approve', 'case.deliver']) assert.ok(acts.includes(x), x);
  const v = runIsle(['--db', srv.dbPath, 'audit', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test('one applicant never sees another applicant\'s case', async () => {
  const created = await srv.req('POST', '/api/v1/users', {
    auth: admin, json: { login: 'citizen2', role: 'citizen', display_name: '李大伯', password: 'Zhoushan@2026' },
  });
  assert.equal(created.status, 201, created.text);
  const other = await srv.loginToken('citizen2');
  const mine = await srv.req('GET', '/api/v1/cases?mine=1', { auth: citizen });
  assert.ok(mine.json.items.length >= 1);
  const id = mine.json.items[0].id;
  assertError(await srv.req('GET', `/api/v1/cases/${id}`, { auth: other }), 404, 'not_found');
  assertError(await srv.req('GET', `/api/v1/cases/${id}/materials/0/file`, { auth: other }), 404, 'not_found');
  assertError(await srv.req('POST', `/api/v1/cases/${id}/actions/withdraw`, { auth: other }), 404, 'not_found');
  const list = await srv.req('GET', '/api/v1/cases', { auth: other });
  assert.equal(list.json.items.length, 0, 'a citizen lists only their own cases');
  assertError(await srv.req('GET', '/api/v1/cases/999999', { auth: citizen }), 404, 'not_found');
});

test('bad input: offline-only items, unknown items, bad forms, double submits', async () => {
  const offline = await srv.req('POST', '/api/v1/cases', {
    auth: citizen, json: { item_code: '330900-SF-300053', form: { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234' } },
  });
  assertError(offline, 409, 'not_online', 'item_code');
  assertError(await srv.req('POST', '/api/v1/cases', { auth: citizen, json: { item_code: '330900-XX-999999' } }),
    404, 'not_found', 'item_code');
  assertError(await srv.req('POST', '/api/v1/cases', { auth: citizen, json: {} }), 400, 'invalid_argument', 'item_code');
  const f = birthForm();
  f.birth_date = '2026-02-30';
  assertError(await srv.req('POST', '/api/v1/cases', { auth: citizen, json: { item_code: BIRTH, form: f } }),
    400, 'invalid_argument', 'form.birth_date');
  const g = birthForm();
  g.id_number = '330902195203140022';
  assertError(await srv.req('POST', '/api/v1/cases', { auth: citizen, json: { item_code: BIRTH, form: g } }),
    400, 'invalid_argument', 'form.id_number');
  assertError(await srv.req('POST', '/api/v1/cases', { auth: citizen, json: { item_code: BIRTH, form: { ...birthForm(), hack: 1 } } }),
    400, 'invalid_argument', 'form.hack');
  assertError(await srv.req('POST', '/api/v1/cases', { auth: citizen, json: { item_code: BIRTH, bogus: 1 } }),
    400, 'invalid_argument', 'bogus');
  // Roles that may not apply.
  assertError(await srv.req('POST', '/api/v1/cases', { auth: approver, json: { item_code: BIRTH } }), 403);

  // The same idempotency key twice: one case.
  const body = { item_code: '330900-RS-200021', submit: false, idempotency_key: 'k-123',
    form: { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234' } };
  const one = await srv.req('POST', '/api/v1/cases', { auth: citizen, json: body });
  assert.equal(one.status, 201, one.text);
  const two = await srv.req('POST', '/api/v1/cases', { auth: citizen, json: body });
  assert.equal(two.status, 200, two.text);
  assert.equal(two.json.id, one.json.id);
  // Without the key, a second open application for the same item is refused.
  const dup = await srv.req('POST', '/api/v1/cases', { auth: citizen, json: { ...body, idempotency_key: undefined } });
  assertError(dup, 409, 'conflict', 'item_code');
  // Withdrawing ends it.
  const w = await srv.req('POST', `/api/v1/cases/${one.json.id}/actions/withdraw`, { auth: citizen });
  assert.equal(w.status, 200, w.text);
  assert.equal(w.json.status, 'withdrawn');
});

test('staff queues: department and town scope, due filters, suspension moves the deadline', async () => {
  const q = await srv.req('GET', '/api/v1/cases?status=open&sort=deadline', { auth: approver });
  assert.equal(q.status, 200, q.text);
  for (const it of q.json.items) assert.notEqual(it.status, 'draft');
  assertError(await srv.req('GET', '/api/v1/cases?due=soonish', { auth: staff }), 400, 'invalid_argument', 'due');
  assertError(await srv.req('GET', '/api/v1/cases?status=nope', { auth: staff }), 400, 'invalid_argument', 'status');

  const c = await applyFull(citizen, '330900-RS-200021',
    { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234' });
  const id = c.id;
  const acc = await srv.req('POST', `/api/v1/cases/${id}/actions/accept`, { auth: staff });
  assert.equal(acc.status, 200, acc.text);
  const queue = await srv.req('GET', `/api/v1/cases?status=accepted&item=330900-RS-200021`, { auth: staff });
  assert.ok(queue.json.items.some((x) => x.id === id), 'the accepted case is in the queue');
  const before = (await srv.req('GET', `/api/v1/cases/${id}`, { auth: approver })).json;
  const sus = await srv.req('POST', `/api/v1/cases/${id}/actions/suspend`, { auth: approver, json: { reason: '等待专家评审' } });
  assert.equal(sus.status, 200, sus.text);
  assert.equal(sus.json.status, 'suspended');
  const res = await srv.req('POST', `/api/v1/cases/${id}/actions/resume`, { auth: approver });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, 'accepted');
  assert.ok(res.json.deadline_at >= before.deadline_at, 'the deadline never moves earlier');
  // Past its deadline (moved back in the database), the case is escalated once by
  // the watcher and shows in the supervisor's overdue view.
  dbQuery(srv.dbPath, `UPDATE cases SET deadline_at = '2026-01-05T09:30:00Z' WHERE id = ${id}`);
  let late;
  for (let i = 0; i < 50; i++) {
    late = (await srv.req('GET', `/api/v1/cases/${id}`, { auth: supervisor })).json;
    if (late.events.some((e) => e.action === 'overdue')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(late.due, 'overdue');
  assert.equal(late.events.filter((e) => e.action === 'overdue').length, 1, 'escalated once');
  const overdue = await srv.req('GET', '/api/v1/cases?due=overdue', { auth: supervisor });
  assert.equal(overdue.status, 200, overdue.text);
  assert.ok(overdue.json.items.some((x) => x.id === id));
  for (const it of overdue.json.items) assert.equal(it.due, 'overdue');
  await new Promise((r) => setTimeout(r, 500));
  const again = (await srv.req('GET', `/api/v1/cases/${id}`, { auth: supervisor })).json;
  assert.equal(again.events.filter((e) => e.action === 'overdue').length, 1, 'not escalated twice');
  // Assignment only to the case's department staff.
  const users = await srv.req('GET', '/api/v1/users?role=approver', { auth: admin });
  const appr = users.json.items[0].id;
  const asg = await srv.req('POST', `/api/v1/cases/${id}/assign`, { auth: supervisor, json: { assignee_id: appr } });
  assert.equal(asg.status, 200, asg.text);
  assert.equal(asg.json.assignee.login, 'approver');
  const cit = (await srv.req('GET', '/api/v1/users?role=citizen', { auth: admin })).json.items[0].id;
  assertError(await srv.req('POST', `/api/v1/cases/${id}/assign`, { auth: supervisor, json: { assignee_id: cit } }),
    400, 'invalid_argument', 'assignee_id');
  assertError(await srv.req('POST', `/api/v1/cases/${id}/assign`, { auth: citizen, json: { assignee_id: appr } }), 403);
});

test('企业开办一件事: one application fans out to every department and finishes on its working-hour clock', async () => {
  const company = await srv.loginToken('company');
  const bundle = (await srv.req('GET', '/api/v1/bundles/YJS-001')).json;
  assert.equal(bundle.promise_hours, 4);
  // Every required material of every member, handed in once by name.
  const pdf = await upload(company, PDF, 'materials.pdf');
  const names = new Set();
  for (const member of bundle.items) {
    const it = (await srv.req('GET', `/api/v1/items/${member.code}`)).json;
    for (const m of it.materials) if (m.required) names.add(m.name);
  }
  const fields = (await srv.req('GET', '/api/v1/bundles/YJS-001/form', { auth: company })).json.fields;
  const form = {};
  const sample = { text: '舟渔水产', textarea: '水产品加工、销售', number: 100, date: '2026-11-20', phone: '05802021234',
    credit_code: '91330900MA2A0B1C2D', idcard: '330902195203140021' };
  for (const f of fields) {
    if (!f.required) continue;
    form[f.name] = f.type === 'select' ? f.options[0] : sample[f.type];
  }
  const r = await srv.req('POST', '/api/v1/cases', {
    auth: company,
    json: { bundle_code: 'YJS-001', form, materials: [...names].map((name) => ({ name, by: 'upload', file_id: pdf })) },
  });
  assert.equal(r.status, 201, r.text);
  const b = r.json;
  assert.equal(b.kind, 'bundle');
  assert.equal(b.members.length, bundle.items.length);
  assert.equal(b.progress.total, bundle.items.length);
  assert.equal(b.promise_hours, 4);
  assert.ok(b.deadline_at, 'the bundle runs on a 4-working-hour clock');
  // Parallel: every member is in a department queue at once.
  for (const m of b.members) assert.ok(['submitted', 'approved'].includes(m.status), m.status);
  // A bundle is handled through its members.
  assertError(await srv.req('POST', `/api/v1/cases/${b.id}/actions/accept`, { auth: staff }), 409, 'conflict');

  for (const m of b.members) {
    if (m.status === 'approved') {
      assert.equal((await srv.req('POST', `/api/v1/cases/${m.id}/actions/deliver`, { auth: staff })).status, 200);
      continue;
    }
    for (const [who, act] of [[staff, 'accept'], [approver, 'approve'], [staff, 'deliver']]) {
      const x = await srv.req('POST', `/api/v1/cases/${m.id}/actions/${act}`, { auth: who });
      assert.equal(x.status, 200, `${m.item_code} ${act}: ${x.text}`);
    }
  }
  const fin = await srv.req('GET', `/api/v1/cases/${b.id}`, { auth: company });
  assert.equal(fin.json.status, 'delivered', JSON.stringify(fin.json.members.map((m) => m.status)));
  assert.equal(fin.json.progress.done, bundle.items.length);
  assert.equal(typeof fin.json.working_hours_used, 'number');
  assert.ok(fin.json.working_hours_used <= 4, `done within the promise: ${fin.json.working_hours_used} h`);
  assert.ok(fin.json.events.some((e) => e.action === 'finish'));
});

test('智能秒办: an instant item is decided by its rules at once, with the trace; e-licences are reused', async () => {
  const ITEM = '330900-MZ-300010'; // 老年人优待证办理
  const fields = (await srv.req('GET', `/api/v1/items/${ITEM}/form`, { auth: citizen })).json.fields;
  const form = { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234' };
  for (const f of fields) {
    if (!f.required || f.name in form) continue;
    form[f.name] = f.type === 'select' ? f.options[0] : f.type === 'number' ? 1 : f.type === 'date' ? '2026-11-20' : '是';
  }
  const r = await srv.req('POST', '/api/v1/cases', { auth: citizen, json: { item_code: ITEM, form } });
  assert.equal(r.status, 201, r.text);
  const c = r.json;
  assert.equal(c.status, 'approved', JSON.stringify(c.rule_trace));
  assert.equal(c.path, 'instant');
  assert.ok(Array.isArray(c.rule_trace) && c.rule_trace.length >= 1);
  for (const t of c.rule_trace) assert.equal(t.result, 'pass', JSON.stringify(t));
  assert.ok(c.decided_at);
  assert.deepEqual(c.events.map((e) => e.action), ['create', 'submit', 'accept', 'approve']);
  // The resident ID came from the e-licence library, not from an upload.
  const id = c.materials.find((m) => m.licence_type === '居民身份证');
  assert.ok(id, JSON.stringify(c.materials));
  assert.equal(id.satisfied_by, 'licence');
  assert.equal(id.waived, 1);
  const lic = await srv.req('GET', '/api/v1/me/licences', { auth: citizen });
  assert.equal(lic.status, 200, lic.text);
  assert.ok(lic.json.items.some((l) => l.id === id.licence_id));
});
