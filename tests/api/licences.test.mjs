// The e-licence library (证照库), 秒办 rules as published, 告知承诺 verification
// and credit records: ownership (another citizen's licence does not exist for
// you), numbers masked for those who need not see them, revocation by an
// approver only with a reason, audited; a failed commitment check revokes the
// approval and leaves a credit record, all in one transaction.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { dbQuery, errorOf, idCheckDigit, startServer, uniq } from './server.mjs';

let srv;
const tok = {};
let citizenId;
let citizenB; // {token, user}
before(async () => {
  srv = await startServer();
  for (const l of ['citizen', 'company', 'staff', 'approver', 'supervisor', 'admin']) {
    tok[l] = await srv.loginToken(l);
  }
  citizenId = tok.citizen.user.id;
  const id17 = '33090319900101456';
  const login = `b${uniq()}`.slice(0, 30);
  const r = await srv.req('POST', '/api/v1/users', {
    token: tok.admin.token,
    json: { login, password: 'Citizen@B2026', role: 'citizen', display_name: '王小二', id_number: id17 + idCheckDigit(id17), town_code: '330903100' },
  });
  assert.equal(r.status, 201, r.text);
  citizenB = await srv.loginToken(login, 'Citizen@B2026');
});
after(async () => { await srv?.stop(); });

const get = (who, p) => srv.req('GET', p, { token: (tok[who] || who).token });
const post = (who, p, json) => srv.req('POST', p, { token: (tok[who] || who).token, json });

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field, `field of ${JSON.stringify(e)}`);
  return e;
}

async function myLicences(who) {
  const r = await get(who, '/api/v1/me/licences');
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

test('the demo citizen has a wallet: valid, expired, revoked and superseded licences', async () => {
  const items = await myLicences('citizen');
  const types = new Set(items.map((l) => l.type));
  for (const t of ['居民身份证', '居民户口簿', '结婚证', '不动产权证书', '社会保障卡', '机动车驾驶证']) {
    assert.ok(types.has(t), `missing ${t}`);
  }
  const idCard = items.find((l) => l.type === '居民身份证');
  assert.equal(idCard.status, 'valid');
  assert.equal(idCard.number, tok.citizen.user.id_number ?? idCard.number);
  assert.match(idCard.number, /^330902\d{11}[\dX]$/, 'the holder sees the full number');
  assert.equal(idCard.valid_until, null);
  assert.equal(items[0].status, 'valid', 'valid licences come first');
  const statuses = new Set(items.map((l) => l.status));
  for (const s of ['valid', 'expired', 'revoked', 'superseded']) assert.ok(statuses.has(s), `no ${s} licence`);
  const driving = items.find((l) => l.type === '机动车驾驶证');
  assert.equal(driving.status, 'expired');
  assert.ok(driving.expires_in_days < 0);
  // A company's wallet is its own.
  const co = await myLicences('company');
  assert.ok(co.some((l) => l.type === '营业执照' && l.status === 'valid'));
  assert.ok(!co.some((l) => l.type === '居民身份证'));
  assert.deepEqual(await myLicences(citizenB), []);
});

test('another citizen cannot read my licence: 404, exactly as for a missing id', async () => {
  const mine = (await myLicences('citizen')).find((l) => l.type === '结婚证');
  const own = await get('citizen', `/api/v1/licences/${mine.id}`);
  assert.equal(own.status, 200, own.text);
  assert.equal(own.json.licence.number, mine.number);
  const other = await get(citizenB, `/api/v1/licences/${mine.id}`);
  const missing = await get(citizenB, '/api/v1/licences/999999');
  const e1 = assertError(other, 404, 'not_found');
  const e2 = assertError(missing, 404, 'not_found');
  assert.equal(e1.message, e2.message);
  assert.ok(!other.text.includes(mine.number));
  assertError(await get('company', `/api/v1/licences/${mine.id}`), 404, 'not_found');
  assertError(await get(citizenB, '/api/v1/licences/abc'), 404, 'not_found');
  // Anonymous: 401.
  assert.equal((await srv.req('GET', `/api/v1/licences/${mine.id}`)).status, 401);
});

test('staff see the number; supervisors and admins see it masked', async () => {
  const idCard = (await myLicences('citizen')).find((l) => l.type === '居民身份证');
  const staff = await get('staff', `/api/v1/licences/${idCard.id}`);
  assert.equal(staff.status, 200, staff.text);
  assert.equal(staff.json.licence.number, idCard.number);
  for (const who of ['supervisor', 'admin']) {
    const r = await get(who, `/api/v1/licences/${idCard.id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.licence.number, `${idCard.number.slice(0, 4)}**********${idCard.number.slice(-4)}`);
    assert.ok(!r.text.includes(idCard.number));
  }
  // A holder's wallet for case handling.
  const list = await get('approver', `/api/v1/users/${citizenId}/licences`);
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json.items.some((l) => l.number === idCard.number));
  const masked = await get('supervisor', `/api/v1/users/${citizenId}/licences`);
  assert.ok(!masked.text.includes(idCard.number));
  assertError(await get('citizen', `/api/v1/users/${citizenId}/licences`), 403, 'permission_denied');
});

test('revocation: approver or admin only, reason required, audited, once', async () => {
  const hk = (await myLicences('citizen')).find((l) => l.type === '居民户口簿');
  const url = `/api/v1/licences/${hk.id}/revoke`;
  assertError(await post('citizen', url, { reason: 'x' }), 403, 'permission_denied');
  assertError(await post('staff', url, { reason: 'x' }), 403, 'permission_denied');
  assertError(await post('approver', url, {}), 400, 'invalid_argument', 'reason');
  assertError(await post('approver', url, { reason: '' }), 400, 'invalid_argument', 'reason');
  assertError(await post('approver', url, { reason: 'x', extra: 1 }), 400, 'invalid_argument', 'extra');
  assertError(await post('approver', '/api/v1/licences/999999/revoke', { reason: 'x' }), 404, 'not_found');
  const ok = await post('approver', url, { reason: '户口迁出本市' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.licence.status, 'revoked');
  assert.equal(ok.json.licence.revoke_reason, '户口迁出本市');
  assertError(await post('admin', url, { reason: '再次撤销' }), 409, 'conflict');
  const after = (await myLicences('citizen')).find((l) => l.id === hk.id);
  assert.equal(after.status, 'revoked');
  const audit = await get('admin', `/api/v1/audit?action=licence.revoke&object_id=${hk.id}`);
  assert.equal(audit.status, 200, audit.text);
  assert.equal(audit.json.items.length, 1);
  assert.equal(audit.json.items[0].actor_login, 'approver');
  assert.ok(!JSON.stringify(audit.json).includes(hk.number), 'the audit row masks the number');
});

test('an item\'s 秒办 rules are public; items without rules are 404', async () => {
  const r = await srv.req('GET', '/api/v1/items/330900-MZ-300010/rules');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.item, '330900-MZ-300010');
  assert.ok(r.json.rules.some((x) => x.check === 'age' && x.min === 60));
  assert.ok(r.json.rules.every((x) => typeof x.description === 'string' && x.description.length > 0));
  assertError(await srv.req('GET', '/api/v1/items/330900-GA-100001/rules'), 404, 'not_found', 'code');
  assertError(await srv.req('GET', '/api/v1/items/..%2F..%2Fetc/rules'), 404, 'not_found');
});

// ---- 告知承诺 ----

let caseSeq = 0;
/** An approved commitment case of the demo citizen and its check row (sampled), made in
 *  the database directly as the applications core would. Returns {caseId, checkId}. */
function commitmentCase(applicant = citizenId, status = 'pending') {
  caseSeq += 1;
  const no = `ZS2611${String(caseSeq).padStart(2, '0')}${uniq().slice(-6)}`;
  const now = '2026-11-02T02:00:00Z';
  const caseId = Number(dbQuery(srv.dbPath,
    `INSERT INTO cases (case_no, kind, item_code, item_name, applicant_id, channel, department, status, form, path, submitted_at, decided_at, created_at, updated_at)
     VALUES ('${no}', 'item', '330921-GJJ-200048', '租赁住房提取住房公积金', ${applicant}, 'online', '舟山市住房公积金管理中心岱山分中心', 'approved', '{}', 'commitment', '${now}', '${now}', '${now}', '${now}') RETURNING id`));
  const checkId = Number(dbQuery(srv.dbPath,
    `INSERT INTO commitment_checks (case_id, applicant_id, case_no, item_code, item_name, department, approved_at, sampled, sample_rate, due_at, status, created_at)
     VALUES (${caseId}, ${applicant}, '${no}', '330921-GJJ-200048', '租赁住房提取住房公积金', '舟山市住房公积金管理中心岱山分中心', '${now}', 1, 20, '2026-12-01T09:30:00Z', '${status}', '${now}') RETURNING id`));
  assert.ok(caseId > 0 && checkId > 0);
  return { caseId, checkId };
}

test('commitment checks: listed for staff, not for applicants', async () => {
  const { checkId } = commitmentCase();
  const r = await get('staff', '/api/v1/commitment-checks?status=pending');
  assert.equal(r.status, 200, r.text);
  const c = r.json.items.find((x) => x.id === checkId);
  assert.ok(c, 'the pending check is listed');
  assert.equal(c.sampled, true);
  assert.equal(c.item_name, '租赁住房提取住房公积金');
  assert.ok(['on_time', 'due_soon', 'overdue'].includes(c.due_state));
  assert.equal((await get('supervisor', '/api/v1/commitment-checks?limit=5')).status, 200);
  assertError(await get('staff', '/api/v1/commitment-checks?status=lost'), 400, 'invalid_argument', 'status');
  assertError(await get('citizen', '/api/v1/commitment-checks'), 403, 'permission_denied');
  assertError(await get('admin', '/api/v1/commitment-checks'), 403, 'permission_denied');
  const one = await get('approver', `/api/v1/commitment-checks/${checkId}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.check.status, 'pending');
  assertError(await get('approver', '/api/v1/commitment-checks/999999'), 404, 'not_found');
});

test('a passed check: recorded once, no credit record', async () => {
  const { checkId } = commitmentCase();
  const url = `/api/v1/commitment-checks/${checkId}`;
  assertError(await post('supervisor', url, { result: 'passed' }), 403, 'permission_denied');
  assertError(await post('staff', url, { result: 'maybe' }), 400, 'invalid_argument', 'result');
  assertError(await post('staff', url, {}), 400, 'invalid_argument', 'result');
  const r = await post('staff', url, { result: 'passed', note: '现场核查，租赁属实' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.check.status, 'passed');
  assert.equal(r.json.check.case_revoked, false);
  assert.equal(r.json.check.checker_id, tok.staff.user.id);
  assertError(await post('approver', url, { result: 'failed', note: '改判' }), 409, 'conflict');
  const credit = await get('citizen', '/api/v1/me/credit');
  assert.equal(credit.status, 200, credit.text);
  assert.equal(credit.json.items.filter((x) => x.kind === 'commitment_failed').length, 0);
});

test('a failed check: note required, approval revoked, credit record for the applicant, audited', async () => {
  const { caseId, checkId } = commitmentCase();
  const url = `/api/v1/commitment-checks/${checkId}`;
  assertError(await post('approver', url, { result: 'failed' }), 400, 'invalid_argument', 'note');
  // Nothing was half-written by the refused request.
  assert.equal(dbQuery(srv.dbPath, `SELECT status FROM commitment_checks WHERE id = ${checkId}`), 'pending');
  const r = await post('approver', url, { result: 'failed', note: '核查发现申请人名下有住房，承诺不实' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.check.status, 'failed');
  assert.equal(r.json.check.case_revoked, true);
  assert.equal(dbQuery(srv.dbPath, `SELECT status FROM cases WHERE id = ${caseId}`), 'denied');
  const credit = await get('citizen', '/api/v1/me/credit');
  assert.equal(credit.status, 200, credit.text);
  const rec = credit.json.items.find((x) => x.case_id === caseId);
  assert.ok(rec, JSON.stringify(credit.json));
  assert.equal(rec.kind, 'commitment_failed');
  assert.match(rec.note, /承诺不实/);
  assert.equal(rec.item_name, '租赁住房提取住房公积金');
  // Only the applicant's own record.
  assert.deepEqual((await get(citizenB, '/api/v1/me/credit')).json.items, []);
  const audit = await get('admin', `/api/v1/audit?action=commitment.check&object_id=${checkId}`);
  assert.equal(audit.json.items.length, 1);
  const creditAudit = await get('admin', '/api/v1/audit?action=credit.record');
  assert.ok(creditAudit.json.items.length >= 1);
});

test('a failed check that cannot revoke leaves nothing behind', async () => {
  const { caseId, checkId } = commitmentCase();
  dbQuery(srv.dbPath, `UPDATE cases SET status = 'withdrawn' WHERE id = ${caseId}`);
  const before = (await get('citizen', '/api/v1/me/credit')).json.items.length;
  const r = await post('approver', `/api/v1/commitment-checks/${checkId}`, { result: 'failed', note: '不实' });
  assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
  assert.equal(dbQuery(srv.dbPath, `SELECT status FROM commitment_checks WHERE id = ${checkId}`), 'pending');
  assert.equal((await get('citizen', '/api/v1/me/credit')).json.items.length, before);
});

test('commitment settings: read by staff, changed by admin only, validated', async () => {
  const r = await get('staff', '/api/v1/commitment-settings');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.sample_rate, 20);
  assert.equal(r.json.verify_days, 20);
  const put = (who, json) => srv.req('PUT', '/api/v1/commitment-settings', { token: tok[who].token, json });
  assertError(await put('approver', { sample_rate: 30, verify_days: 20 }), 403, 'permission_denied');
  assertError(await put('admin', { sample_rate: 150, verify_days: 20 }), 400, 'invalid_argument', 'sample_rate');
  assertError(await put('admin', { sample_rate: 30, verify_days: 0.3 }), 400, 'invalid_argument', 'verify_days');
  assertError(await put('admin', { sample_rate: 30 }), 400, 'invalid_argument', 'verify_days');
  const ok = await put('admin', { sample_rate: 25, verify_days: 15 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.sample_rate, 25);
  assert.equal(ok.json.verify_days, 15);
  const audit = await get('admin', '/api/v1/audit?action=commitment.settings');
  assert.equal(audit.json.items.length, 1);
});
