// User administration, registration, passwords, resident ID masking and the audit chain.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { copyDb, dropDb, errorOf, idCheckDigit, isPg, runIsle, sqlite, startServer, uniq } from './server.mjs';

let srv;
let admin; // bearer session of the demo admin
before(async () => {
  srv = await startServer();
  admin = await srv.loginToken('admin');
});
after(async () => { await srv?.stop(); });

const U = uniq();
const meOf = (r) => (r.json && r.json.user ? r.json.user : r.json);

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field, `field of ${JSON.stringify(e)}`);
  return e;
}

async function createUser(body) {
  return srv.req('POST', '/api/v1/users', { token: admin.token, json: body });
}

// 17 digits: Dinghai district code 330902, born 1990-01-01, sequence 123
const ID17 = '33090219900101123';
const VALID_ID = ID17 + idCheckDigit(ID17);
const WRONG_ID = ID17 + (idCheckDigit(ID17) === '1' ? '2' : '1');
const MASKED_ID = `3309**********${VALID_ID.slice(-4)}`;

let alice; // created with a valid ID number
const ALICE_PW = 'Alice@Pass2026';

test('idCheckDigit helper matches a known-good GB 11643 number', () => {
  // 11010519491231002X is the standard's own example
  assert.equal(idCheckDigit('11010519491231002'), 'X');
  assert.notEqual(VALID_ID, WRONG_ID);
});

test('admin creates a user → 201 with the user object', async () => {
  const login = `alice_${U}`;
  const r = await createUser({
    login, password: ALICE_PW, role: 'citizen', display_name: 'Alice 测试', id_number: VALID_ID,
    phone: '13800138000',
  });
  assert.equal(r.status, 201, r.text);
  const u = r.json.user;
  assert.equal(u.login, login);
  assert.equal(u.role, 'citizen');
  assert.equal(u.role_name, '群众');
  assert.equal(u.display_name, 'Alice 测试');
  assert.equal(u.disabled, false);
  assert.ok(Number.isInteger(u.id) || typeof u.id === 'string');
  assert.match(u.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(u.id_number, MASKED_ID, 'admin sees the ID number masked');
  assert.notEqual(u.phone, '13800138000', 'phone is masked for the admin');
  assert.ok(!('password' in u) && !('password_hash' in u));
  alice = u;
});

test('admin with a cookie session needs the CSRF token to create a user', async () => {
  const a = await srv.login('admin');
  const body = { login: `csrf_${U}`, password: 'Csrf@Pass2026', role: 'citizen', display_name: 'C' };
  assertError(await srv.req('POST', '/api/v1/users', { cookie: a.cookie, json: body }), 403, 'permission_denied');
  const l = await srv.req('GET', `/api/v1/users?q=csrf_${U}`, { token: admin.token });
  assert.equal(l.json.total, 0, 'nothing was created without the token');
  const ok = await srv.req('POST', '/api/v1/users', { auth: a, json: body });
  assert.equal(ok.status, 201, ok.text);
});

test('duplicate login → 409', async () => {
  const r = await createUser({ login: alice.login, password: 'Another@2026', role: 'citizen', display_name: 'Dup' });
  assertError(r, 409, 'conflict');
});

test('bad role → 400 field role', async () => {
  const r = await createUser({ login: `bad_${U}`, password: 'Another@2026', role: 'emperor', display_name: 'X' });
  assertError(r, 400, 'invalid_argument', 'role');
});

test('bad id_number check digit → 400 field id_number', async () => {
  const r = await createUser({ login: `badid_${U}`, password: 'Another@2026', role: 'citizen', display_name: 'X', id_number: WRONG_ID });
  assertError(r, 400, 'invalid_argument', 'id_number');
  const r2 = await createUser({ login: `badid2_${U}`, password: 'Another@2026', role: 'citizen', display_name: 'X', id_number: '3309021990' });
  assertError(r2, 400, 'invalid_argument', 'id_number');
});

test('other validation: login charset, password length, unknown field', async () => {
  assertError(await createUser({ login: 'has space', password: 'Another@2026', role: 'citizen', display_name: 'X' }),
    400, 'invalid_argument', 'login');
  assertError(await createUser({ login: 'ab', password: 'Another@2026', role: 'citizen', display_name: 'X' }),
    400, 'invalid_argument', 'login');
  assertError(await createUser({ login: `short_${U}`, password: 'short', role: 'citizen', display_name: 'X' }),
    400, 'invalid_argument', 'password');
  assertError(await createUser({ login: `extra_${U}`, password: 'Another@2026', role: 'citizen', display_name: 'X', is_admin: true }),
    400, 'invalid_argument', 'is_admin');
});

test('admin list shows the ID masked; GET /users/{id} too; the owner sees it unmasked', async () => {
  const l = await srv.req('GET', `/api/v1/users?q=${encodeURIComponent(alice.login)}`, { token: admin.token });
  assert.equal(l.status, 200, l.text);
  assert.ok(Number.isInteger(l.json.total));
  const item = l.json.items.find((x) => x.login === alice.login);
  assert.ok(item, 'alice found by q=');
  assert.equal(item.id_number, MASKED_ID);
  assert.ok(!l.text.includes(VALID_ID), 'full ID number nowhere in the list');
  const g = await srv.req('GET', `/api/v1/users/${alice.id}`, { token: admin.token });
  assert.equal(g.status, 200);
  assert.equal(g.json.user.id_number, MASKED_ID);
  const s = await srv.loginToken(alice.login, ALICE_PW);
  const me = await srv.req('GET', '/api/v1/me', { token: s.token });
  assert.equal(me.status, 200);
  assert.equal(meOf(me).id_number, VALID_ID, 'owner sees the full number');
});

test('list filters by role and pages', async () => {
  const r = await srv.req('GET', '/api/v1/users?role=admin', { token: admin.token });
  assert.equal(r.status, 200);
  assert.ok(r.json.items.length >= 1);
  assert.ok(r.json.items.every((u) => u.role === 'admin'));
  const p = await srv.req('GET', '/api/v1/users?limit=2&offset=1', { token: admin.token });
  assert.equal(p.status, 200);
  assert.equal(p.json.items.length, 2);
  assert.ok(p.json.total >= 10);
  assertError(await srv.req('GET', '/api/v1/users?role=emperor', { token: admin.token }), 400, 'invalid_argument', 'role');
  assertError(await srv.req('GET', '/api/v1/users?limit=abc', { token: admin.token }), 400, 'invalid_argument', 'limit');
  assertError(await srv.req('GET', '/api/v1/users/999999', { token: admin.token }), 404, 'not_found');
});

test('PATCH disabled:true ends the user\'s sessions and blocks login', async () => {
  const login = `bob_${U}`;
  const c = await createUser({ login, password: 'Bob@Pass2026', role: 'company', display_name: 'Bob' });
  assert.equal(c.status, 201, c.text);
  const bobCookie = await srv.login(login, 'Bob@Pass2026');
  const bobToken = await srv.loginToken(login, 'Bob@Pass2026');
  assert.equal((await srv.req('GET', '/api/v1/me', { cookie: bobCookie.cookie })).status, 200);
  const p = await srv.req('PATCH', `/api/v1/users/${c.json.user.id}`, { token: admin.token, json: { disabled: true } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.user.disabled, true);
  assertError(await srv.req('GET', '/api/v1/me', { cookie: bobCookie.cookie }), 401, 'unauthenticated');
  assertError(await srv.req('GET', '/api/v1/me', { token: bobToken.token }), 401, 'unauthenticated');
  const again = await srv.req('POST', '/api/v1/session', { json: { login, password: 'Bob@Pass2026' } });
  assert.ok(again.status === 401 || again.status === 403, `disabled login: ${again.status}`);
  // PATCH validation
  assertError(await srv.req('PATCH', `/api/v1/users/${c.json.user.id}`, { token: admin.token, json: { role: 'emperor' } }),
    400, 'invalid_argument', 'role');
  assertError(await srv.req('PATCH', `/api/v1/users/${c.json.user.id}`, { token: admin.token, json: { disabled: 'yes' } }),
    400, 'invalid_argument', 'disabled');
  assertError(await srv.req('PATCH', `/api/v1/users/${c.json.user.id}`, { token: admin.token, json: { login: 'renamed' } }),
    400, 'invalid_argument', 'login');
  // re-enable: login works again
  const p2 = await srv.req('PATCH', `/api/v1/users/${c.json.user.id}`, { token: admin.token, json: { disabled: false, role: 'bidder' } });
  assert.equal(p2.status, 200);
  assert.equal(p2.json.user.role, 'bidder');
  const s = await srv.loginToken(login, 'Bob@Pass2026');
  assert.equal(s.user.role, 'bidder');
});

let carol;
test('register a citizen via /api/v1/register', async () => {
  const login = `carol_${U}`;
  const r = await srv.req('POST', '/api/v1/register', {
    json: { login, password: 'Carol@Pass2026', display_name: 'Carol' },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.user.login, login);
  assert.equal(r.json.user.role, 'citizen');
  carol = r.json.user;
  const s = await srv.loginToken(login, 'Carol@Pass2026');
  assert.equal(s.user.role, 'citizen');
  // a registration cannot choose its role
  assertError(await srv.req('POST', '/api/v1/register', {
    json: { login: `mallory_${U}`, password: 'Mallory@2026', display_name: 'M', role: 'admin' },
  }), 400, 'invalid_argument', 'role');
  assertError(await srv.req('POST', '/api/v1/register', {
    json: { login, password: 'Carol@Pass2026', display_name: 'Carol again' },
  }), 409, 'conflict');
  assertError(await srv.req('POST', '/api/v1/register', {
    json: { login: `dave_${U}`, password: 'Dave@Pass2026', display_name: 'Dave', id_number: WRONG_ID },
  }), 400, 'invalid_argument', 'id_number');
});

test('change own password; other sessions end; the new password logs in', async () => {
  const login = carol.login;
  const a = await srv.login(login, 'Carol@Pass2026');
  const b = await srv.loginToken(login, 'Carol@Pass2026');
  const wrong = await srv.req('POST', '/api/v1/me/password', {
    auth: a, json: { old_password: 'not-my-password', new_password: 'Carol@New2026' },
  });
  assert.ok(wrong.status === 401 || wrong.status === 403 || wrong.status === 400, `wrong old password: ${wrong.status}`);
  const shortPw = await srv.req('POST', '/api/v1/me/password', {
    auth: a, json: { old_password: 'Carol@Pass2026', new_password: 'short' },
  });
  assertError(shortPw, 400, 'invalid_argument', 'new_password');
  const noCsrf = await srv.req('POST', '/api/v1/me/password', {
    cookie: a.cookie, json: { old_password: 'Carol@Pass2026', new_password: 'Carol@New2026' },
  });
  assertError(noCsrf, 403, 'permission_denied');
  const r = await srv.req('POST', '/api/v1/me/password', {
    auth: a, json: { old_password: 'Carol@Pass2026', new_password: 'Carol@New2026' },
  });
  assert.equal(r.status, 204, r.text);
  assertError(await srv.req('GET', '/api/v1/me', { token: b.token }), 401, 'unauthenticated');
  assert.equal((await srv.req('GET', '/api/v1/me', { cookie: a.cookie })).status, 200, 'the changing session continues');
  const old = await srv.req('POST', '/api/v1/session', { json: { login, password: 'Carol@Pass2026' } });
  assertError(old, 401, 'unauthenticated');
  const s = await srv.loginToken(login, 'Carol@New2026');
  assert.equal(s.user.login, login);
});

test('every change shows up in the audit log with the actor\'s login', async () => {
  const r = await srv.req('GET', '/api/v1/audit?limit=200', { token: admin.token });
  assert.equal(r.status, 200, r.text);
  const items = r.json.items;
  assert.ok(Array.isArray(items) && items.length > 0);
  assert.ok('next_before' in r.json);
  for (let i = 1; i < items.length; i++) assert.ok(items[i - 1].id > items[i].id, 'newest first');
  for (const k of ['id', 'at', 'actor_id', 'actor_login', 'action', 'object_type', 'object_id', 'before', 'after', 'request_id', 'hash']) {
    assert.ok(k in items[0], `audit item has ${k}`);
  }
  const about = (u) => items.filter((x) => String(x.object_id) === String(u.id));
  const aliceRows = about(alice);
  assert.ok(aliceRows.some((x) => x.actor_login === 'admin'), 'alice\'s creation by admin is audited');
  const bob = (await srv.req('GET', `/api/v1/users?q=bob_${U}`, { token: admin.token })).json.items[0];
  const bobRows = about(bob).filter((x) => x.actor_login === 'admin');
  assert.ok(bobRows.length >= 3, `create + disable + enable audited for bob (got ${bobRows.length})`);
  assert.ok(bobRows.some((x) => x.before && x.after && !x.before.disabled && x.after.disabled),
    'the disable row carries before/after');
  const carolRows = about(carol);
  assert.ok(carolRows.length >= 2, 'registration and password change audited');
  assert.ok(carolRows.some((x) => x.actor_login === carol.login), 'carol\'s own password change has her as actor');
  // secrets are never written to the audit log
  const all = JSON.stringify(items);
  for (const secret of [VALID_ID, ALICE_PW, 'Carol@Pass2026', 'Carol@New2026', 'Bob@Pass2026', '$argon2']) {
    assert.ok(!all.includes(secret), `audit log contains ${secret}`);
  }
  // filters
  const f = await srv.req('GET', `/api/v1/audit?actor=${encodeURIComponent(carol.login)}`, { token: admin.token });
  assert.equal(f.status, 200);
  assert.ok(f.json.items.length >= 1);
  assert.ok(f.json.items.every((x) => x.actor_login === carol.login));
  const page = await srv.req('GET', '/api/v1/audit?limit=2', { token: admin.token });
  assert.equal(page.json.items.length, 2);
  const next = await srv.req('GET', `/api/v1/audit?limit=2&before=${page.json.next_before}`, { token: admin.token });
  assert.equal(next.status, 200);
  assert.ok(next.json.items.length > 0);
  assert.ok(next.json.items.every((x) => x.id < page.json.items[1].id), 'before= pages backwards');
});

test('audit is for admin and supervisor only', async () => {
  const sup = await srv.loginToken('supervisor');
  assert.equal((await srv.req('GET', '/api/v1/audit', { token: sup.token })).status, 200);
  assert.equal((await srv.req('GET', '/api/v1/audit/verify', { token: sup.token })).status, 200);
  const cit = await srv.loginToken('citizen');
  assertError(await srv.req('GET', '/api/v1/audit', { token: cit.token }), 403, 'permission_denied');
  assertError(await srv.req('GET', '/api/v1/audit/verify', { token: cit.token }), 403, 'permission_denied');
});

test('isle audit verify CLI: exit 0 on a good copy, non-zero after tampering', () => {
  const copy = copyDb(srv.dbPath, srv.dir, 'audit-copy');
  const ok = runIsle(['--db', copy, 'audit', 'verify']);
  assert.equal(ok.status, 0, `verify on intact copy: ${ok.stdout}${ok.stderr}`);
  tamper(copy);
  const bad = runIsle(['--db', copy, 'audit', 'verify']);
  assert.notEqual(bad.status, 0, `verify after tampering: ${bad.stdout}${bad.stderr}`);
  assert.ok(bad.status !== null, 'exited, did not crash');
  assert.ok(bad.status < 128, `exit status ${bad.status} looks like a crash`);
  if (isPg) dropDb(copy);
  else fs.rmSync(copy, { force: true });
});

function tamper(dbPath) {
  const min = Number(sqlite(dbPath, 'SELECT MIN(id) FROM audit_log'));
  const cur = sqlite(dbPath, `SELECT after_json FROM audit_log WHERE id=${min}`);
  const v = cur === '{}' ? '{"tampered":true}' : '{}';
  sqlite(dbPath, `UPDATE audit_log SET after_json='${v}' WHERE id=${min}`);
  return min;
}

// Last: breaks the live chain.
test('GET /api/v1/audit/verify → ok, then ok:false with first_broken after tampering', async () => {
  const r = await srv.req('GET', '/api/v1/audit/verify', { token: admin.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true, r.text);
  assert.ok(r.json.rows > 0);
  const min = tamper(srv.dbPath);
  const r2 = await srv.req('GET', '/api/v1/audit/verify', { token: admin.token });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.json.ok, false, r2.text);
  assert.equal(r2.json.first_broken, min);
  assert.equal(typeof r2.json.reason, 'string');
  assert.ok(r2.json.reason.length > 0);
});
