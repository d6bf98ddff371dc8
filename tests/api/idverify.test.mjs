// Identity verification through the API against a local fake face-verification
// provider (a node http server in this process): a resident verifies themselves,
// staff verify a walk-in without an account, the provider's signed callback is
// checked and idempotent, provider failures and timeouts are recorded as 'error',
// late callbacks expire the session, staff witness in person as the fallback, and
// ID numbers never leave the subject in clear (responses, log, audit, table).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { dbQuery, errorOf, startServer } from './server.mjs';

const SECRET = 'idv-secret';
const CITIZEN_ID = '330902195203140021'; // the demo citizen's
let srv;
let plain;
let provider;
const s = {};

/** A valid resident ID number (GB 11643 check character) from 17 digits. */
function idNumber(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, d, i) => acc + Number(d) * w[i], 0);
  return first17 + '10X98765432'[sum % 11];
}
const WALKIN_ID = idNumber('33092219480605002');

/**
 * The fake provider: POST /sessions opens a session, answering as `mode` says:
 * ok ({session_id, url}), fail (500), slow (no answer: isle times out), garbage
 * (200 without a session id). It checks the signature and keeps every request.
 */
function fakeProvider() {
  const p = { mode: 'ok', requests: [], badSignatures: 0, hung: [] };
  p.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const ts = req.headers['x-isle-timestamp'];
      const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
      if (req.headers['x-isle-signature'] !== want) p.badSignatures++;
      const m = JSON.parse(body);
      p.requests.push(m);
      if (p.mode === 'fail') { res.writeHead(500); res.end('down'); return; }
      if (p.mode === 'slow') { p.hung.push(res); return; }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (p.mode === 'garbage') { res.end('{"ok":true}'); return; }
      res.end(JSON.stringify({ session_id: `S-${m.request_id}`, url: `https://face.example.cn/s/S-${m.request_id}` }));
    });
  });
  return p;
}

/** A callback as the provider sends it: signed with its secret. */
function signed(body, { secret = SECRET, ts = Math.floor(Date.now() / 1000) } = {}) {
  const text = JSON.stringify(body);
  const sig = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${text}`).digest('hex');
  return { body: text, headers: { 'Content-Type': 'application/json', 'X-Isle-Timestamp': String(ts), 'X-Isle-Signature': sig } };
}

before(async () => {
  provider = fakeProvider();
  await new Promise((r) => provider.server.listen(0, '127.0.0.1', r));
  srv = await startServer({
    env: {
      ISLE_IDV_URL: `http://127.0.0.1:${provider.server.address().port}/sessions`,
      ISLE_IDV_SECRET: SECRET, ISLE_IDV_TIMEOUT_MS: '400', ISLE_PUBLIC_URL: 'https://isle.example.cn',
    },
  });
  plain = await startServer();
  for (const l of ['citizen', 'company', 'agent', 'staff', 'approver', 'supervisor']) s[l] = await srv.loginToken(l);
});
after(async () => {
  await srv?.stop();
  await plain?.stop();
  for (const res of provider?.hung || []) res.destroy();
  provider?.server.closeAllConnections?.();
  await new Promise((r) => provider?.server.close(r));
});

test('a resident verifies themselves at the provider; the signed callback records the result once', async () => {
  let r = await srv.req('POST', '/api/v1/idverify', { auth: s.citizen, json: {} });
  assert.equal(r.status, 201, r.text);
  const v = r.json.verification;
  const { session } = r.json;
  assert.equal(v.method, 'provider');
  assert.equal(v.status, 'pending');
  assert.equal(v.subject.name, '张阿婆');
  assert.equal(v.subject.id_number, CITIZEN_ID, 'the subject sees their own number');
  assert.equal(v.provider_ref, `S-${v.id}`);
  assert.equal(session.url, `https://face.example.cn/s/S-${v.id}`);
  assert.match(session.token, /^[A-Za-z0-9_-]{40,}$/);
  assert.ok(Date.parse(session.expires_at) > Date.now());

  // What the provider was asked: signed, the name and number in clear, the token.
  const sent = provider.requests.at(-1);
  assert.equal(provider.badSignatures, 0);
  assert.deepEqual(sent, {
    request_id: v.id, name: '张阿婆', id_number: CITIZEN_ID, token: session.token,
    expires_at: session.expires_at, callback_url: 'https://isle.example.cn/api/v1/idverify/callback',
  });
  // Only the token's hash is kept.
  assert.equal(dbQuery(srv.dbPath, `SELECT token_hash FROM verifications WHERE id = ${v.id}`),
    crypto.createHash('sha256').update(session.token).digest('hex'));

  // Who may read it: the subject (in clear), staff (masked); not another resident or agent.
  r = await srv.req('GET', `/api/v1/idverify/${v.id}`, { auth: s.staff });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.verification.subject.id_number, '3309**********0021');
  assert.equal((await srv.req('GET', `/api/v1/idverify/${v.id}`, { auth: s.company })).status, 404);
  assert.equal((await srv.req('GET', `/api/v1/idverify/${v.id}`, { auth: s.agent })).status, 404);
  assert.equal((await srv.req('GET', '/api/v1/idverify/abc', { auth: s.staff })).status, 404);

  // The callback: signed, about this session, a known result.
  const cb = { request_id: v.id, session_id: `S-${v.id}`, result: 'match' };
  let x = await srv.req('POST', '/api/v1/idverify/callback', { json: cb });
  assert.equal(x.status, 401);
  assert.equal(errorOf(x).field, 'X-Isle-Timestamp');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed(cb, { secret: 'guess' }));
  assert.equal(x.status, 401);
  assert.equal(errorOf(x).field, 'X-Isle-Signature');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed({ ...cb, session_id: 'S-other' }));
  assert.equal(x.status, 409);
  assert.equal(errorOf(x).field, 'session_id');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed({ ...cb, request_id: 999999 }));
  assert.equal(x.status, 404);
  assert.equal(errorOf(x).field, 'request_id');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed({ ...cb, result: 'probably' }));
  assert.equal(x.status, 400);
  assert.equal(errorOf(x).field, 'result');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed({ ...cb, result: 'no_match', assurance: 'high' }));
  assert.equal(errorOf(x).field, 'assurance');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed({ ...cb, score: 0.99 }));
  assert.equal(errorOf(x).field, 'score');
  assert.equal(dbQuery(srv.dbPath, `SELECT status FROM verifications WHERE id = ${v.id}`), 'pending');

  x = await srv.req('POST', '/api/v1/idverify/callback', signed(cb));
  assert.equal(x.status, 200, x.text);
  assert.equal(x.json.result, 'recorded');
  assert.equal(x.json.verification.status, 'passed');
  assert.equal(x.json.verification.assurance, 'high');
  assert.equal(x.json.verification.subject.id_number, '3309**********0021', 'the provider sees it masked');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed(cb));
  assert.equal(x.json.result, 'duplicate');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed({ ...cb, result: 'no_match' }));
  assert.equal(x.status, 409);
  assert.equal(errorOf(x).field, 'result');
  r = await srv.req('GET', `/api/v1/idverify/${v.id}`, { auth: s.citizen });
  assert.equal(r.json.verification.status, 'passed');
  assert.equal(r.json.verification.result, 'match');
  assert.ok(r.json.verification.completed_at);
  assert.equal(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'verification' AND object_id = '${v.id}'`), '3',
    'start, session, result');
});

test('staff verify a walk-in without an account; bad input names the field', async () => {
  const bad = [
    [s.staff, {}, 400, 'user_id'],
    [s.staff, { name: '王阿公' }, 400, 'id_number'],
    [s.staff, { name: '王阿公', id_number: '330922194806050021' }, 400, 'id_number'],
    [s.staff, { id_number: WALKIN_ID }, 400, 'name'],
    [s.staff, { name: ' 王阿公', id_number: WALKIN_ID }, 400, 'name'],
    [s.staff, { user_id: 999999 }, 404, 'user_id'],
    [s.staff, { user_id: 0 }, 400, 'user_id'],
    [s.staff, { user_id: s.citizen.user.id, id_number: WALKIN_ID }, 400, 'id_number'],
    [s.citizen, { user_id: s.company.user.id }, 403, ''],
    [s.citizen, { name: '王阿公', id_number: WALKIN_ID }, 400, 'id_number'], // not the account's own
    [s.company, {}, 400, 'id_number'], // the company account has no ID number registered
    [s.staff, { name: '王阿公', id_number: WALKIN_ID, extra: 1 }, 400, 'extra'],
  ];
  for (const [who, body, status, field] of bad) {
    const r = await srv.req('POST', '/api/v1/idverify', { auth: who, json: body });
    assert.equal(r.status, status, `${JSON.stringify(body)} → ${r.text}`);
    assert.equal(errorOf(r).field, field, JSON.stringify(body));
  }
  const r = await srv.req('POST', '/api/v1/idverify', { auth: s.agent, json: { name: '王阿公', id_number: WALKIN_ID } });
  assert.equal(r.status, 201, r.text);
  const v = r.json.verification;
  assert.equal(v.subject.user_id, null);
  assert.equal(v.subject.name, '王阿公');
  assert.equal(v.subject.id_number, `3309**********${WALKIN_ID.slice(-4)}`);
  assert.equal(v.requested_by, s.agent.user.id);
  assert.equal(provider.requests.at(-1).id_number, WALKIN_ID);
  // The agent who asked may read it; the provider says no match.
  assert.equal((await srv.req('GET', `/api/v1/idverify/${v.id}`, { auth: s.agent })).status, 200);
  const x = await srv.req('POST', '/api/v1/idverify/callback', signed({
    request_id: v.id, session_id: v.provider_ref, result: 'no_match', reason: '人像比对不一致',
  }));
  assert.equal(x.status, 200, x.text);
  assert.equal(x.json.verification.status, 'failed');
  assert.equal(x.json.verification.assurance, null);
  assert.equal(x.json.verification.reason, '人像比对不一致');
  // Staff naming a resident who has an account verify that account.
  const y = await srv.req('POST', '/api/v1/idverify', { auth: s.staff, json: { name: '张阿婆', id_number: CITIZEN_ID } });
  assert.equal(y.status, 201, y.text);
  assert.equal(y.json.verification.subject.user_id, s.citizen.user.id);
  assert.equal(y.json.verification.subject.id_number, '3309**********0021');
});

test('provider failures, timeouts and late callbacks are recorded as errors', async () => {
  assert.equal((await plain.req('POST', '/api/v1/idverify', { auth: await plain.loginToken('citizen'), json: {} })).status, 503);
  for (const [mode, status, code] of [['fail', 502, 'provider_error'], ['garbage', 502, 'provider_error'], ['slow', 504, 'provider_timeout']]) {
    provider.mode = mode;
    const t0 = Date.now();
    const r = await srv.req('POST', '/api/v1/idverify', { auth: s.staff, json: { user_id: s.citizen.user.id } });
    assert.equal(r.status, status, `${mode}: ${r.text}`);
    assert.equal(errorOf(r).code, code);
    assert.ok(Date.now() - t0 < 3000, 'the timeout holds');
    const id = Number(/核验记录 (\d+)/.exec(errorOf(r).message)[1]);
    const row = await srv.req('GET', `/api/v1/idverify/${id}`, { auth: s.staff });
    assert.equal(row.json.verification.status, 'error', mode);
    assert.equal(row.json.verification.result, 'error');
    assert.ok(row.json.verification.reason);
    assert.doesNotMatch(row.json.verification.reason, /\d{17}/);
  }
  provider.mode = 'ok';
  // A session whose time ran out: a late callback expires it, and again says so.
  const r = await srv.req('POST', '/api/v1/idverify', { auth: s.staff, json: { user_id: s.citizen.user.id } });
  const v = r.json.verification;
  dbQuery(srv.dbPath, `UPDATE verifications SET expires_at = '2020-01-01T00:00:00Z' WHERE id = ${v.id}`);
  const cb = { request_id: v.id, session_id: v.provider_ref, result: 'match' };
  let x = await srv.req('POST', '/api/v1/idverify/callback', signed(cb));
  assert.equal(x.status, 200, x.text);
  assert.equal(x.json.result, 'expired');
  assert.equal(x.json.verification.status, 'error');
  x = await srv.req('POST', '/api/v1/idverify/callback', signed(cb));
  assert.equal(x.json.result, 'expired');
});

test('staff witness in person as the fallback, with a note; lower assurance', async () => {
  // A walk-in whose face check erred.
  provider.mode = 'fail';
  const fr = await srv.req('POST', '/api/v1/idverify', { auth: s.staff, json: { name: '林阿婆', id_number: idNumber('33092119400101002') } });
  provider.mode = 'ok';
  const failedId = Number(/核验记录 (\d+)/.exec(errorOf(fr).message)[1]);
  const walkin = { name: '林阿婆', id_number: idNumber('33092119400101002') };
  const note = '核对户口簿及社区书记当面确认';
  const bad = [
    [s.citizen, { ...walkin, note }, 403, ''],
    [s.agent, { ...walkin, note }, 403, ''],
    [s.staff, { ...walkin }, 400, 'note'],
    [s.staff, { ...walkin, note: ' ' }, 400, 'note'],
    [s.staff, { note }, 400, 'user_id'],
    [s.staff, { user_id: s.staff.user.id, id_number: WALKIN_ID, note }, 403, ''],
    [s.staff, { ...walkin, note, fallback_for: 999999 }, 400, 'fallback_for'],
    [s.staff, { ...walkin, note, fallback_for: 0 }, 400, 'fallback_for'],
    [s.staff, { name: '王阿公', id_number: WALKIN_ID, note, fallback_for: failedId }, 400, 'fallback_for'],
  ];
  for (const [who, body, status, field] of bad) {
    const r = await srv.req('POST', '/api/v1/idverify/witness', { auth: who, json: body });
    assert.equal(r.status, status, `${JSON.stringify(body)} → ${r.text}`);
    if (status !== 403 || field) assert.equal(errorOf(r).field, field, JSON.stringify(body));
  }
  const r = await srv.req('POST', '/api/v1/idverify/witness', { auth: s.staff, json: { ...walkin, note, fallback_for: failedId } });
  assert.equal(r.status, 201, r.text);
  const v = r.json.verification;
  assert.equal(v.method, 'witness');
  assert.equal(v.status, 'passed');
  assert.equal(v.assurance, 'substantial');
  assert.equal(v.note, note);
  assert.equal(v.fallback_for, failedId);
  assert.equal(v.subject.id_number, `3309**********${walkin.id_number.slice(-4)}`);
  assert.ok(v.completed_at);
  // A passed verification cannot be "replaced".
  const x = await srv.req('POST', '/api/v1/idverify/witness', { auth: s.approver, json: { ...walkin, note, fallback_for: v.id } });
  assert.equal(x.status, 400);
  assert.equal(errorOf(x).field, 'fallback_for');
  // For an account: the subject reads it with the full number; a supervisor masked.
  const y = await srv.req('POST', '/api/v1/idverify/witness', { auth: s.approver, json: { user_id: s.citizen.user.id, note } });
  assert.equal(y.status, 201, y.text);
  const mine = await srv.req('GET', `/api/v1/idverify/${y.json.verification.id}`, { auth: s.citizen });
  assert.equal(mine.json.verification.subject.id_number, CITIZEN_ID);
  const sup = await srv.req('GET', `/api/v1/idverify/${y.json.verification.id}`, { auth: s.supervisor });
  assert.equal(sup.json.verification.subject.id_number, '3309**********0021');
});

test('starts are limited per resident; ID numbers stay out of the log, the audit trail and the table', async () => {
  let limited = null;
  for (let i = 0; i < 7 && !limited; i++) {
    const r = await srv.req('POST', '/api/v1/idverify', { auth: s.citizen, json: {} });
    if (r.status === 429) limited = r;
    else assert.equal(r.status, 201, r.text);
  }
  assert.ok(limited, 'the 6th start within the hour is refused');
  assert.equal(errorOf(limited).code, 'rate_limited');
  assert.equal(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM verifications WHERE requested_by = ${s.citizen.user.id}`), '5');
  for (const id of [CITIZEN_ID, WALKIN_ID]) {
    const digits = id.slice(6, 14); // the birth date part, never shown
    assert.doesNotMatch(srv.log(), new RegExp(digits));
    assert.equal(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE after_json LIKE '%${digits}%' OR before_json LIKE '%${digits}%'`), '0');
    assert.equal(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM verifications WHERE subject_id_masked LIKE '%${digits}%' OR reason LIKE '%${digits}%'`), '0');
  }
});
