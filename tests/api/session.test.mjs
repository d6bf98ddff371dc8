// Session, input validation, CSRF and login rate limiting.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PASSWORD, errorOf, rawExchange, startServer, uniq } from './server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const JSON_CT = { 'Content-Type': 'application/json' };

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get?.('content-type') ?? r.headers['content-type'] ?? '', /^application\/json/);
  const e = errorOf(r);
  assert.equal(e.code, code);
  assert.equal(typeof e.message, 'string');
  if (field !== undefined) assert.equal(e.field, field);
  return e;
}

// ---- the acceptance checks ----

test('POST /api/v1/session with body "{" → 400 JSON error', async () => {
  const r = await srv.req('POST', '/api/v1/session', { body: '{', headers: JSON_CT });
  assertError(r, 400, 'invalid_argument');
});

test('2 MiB Content-Length to a JSON route → 413 JSON error', async () => {
  const size = 2 * 1024 * 1024;
  const r = await rawExchange(srv.port,
    'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${size}\r\n\r\n`, { bodySize: size, timeout: 10000 });
  assert.equal(r.status, 413, r.text.slice(0, 300));
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.json?.error?.code, 'payload_too_large');
});

test('2 MiB body via fetch → 413 JSON error', async () => {
  const body = `{"login":"${'a'.repeat(2 * 1024 * 1024)}","password":"x"}`;
  const r = await srv.req('POST', '/api/v1/session', { body, headers: JSON_CT });
  assertError(r, 413, 'payload_too_large');
});

test('2 MiB chunked JSON body (no Content-Length) → 413 JSON error', async () => {
  const r = await rawExchange(srv.port,
    'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n', { bodySize: 2 * 1024 * 1024, chunked: true, timeout: 10000 });
  assert.equal(r.status, 413, r.text.slice(0, 300));
  assert.equal(r.json?.error?.code, 'payload_too_large');
});

test('Expect: 100-continue with a 2 MiB Content-Length → 413 before the body is sent', async () => {
  const r = await rawExchange(srv.port,
    'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Content-Length: 2097152\r\nExpect: 100-continue\r\n\r\n', { timeout: 5000 });
  assert.equal(r.bodySent, 0);
  assert.equal(r.status, 413, `first response: ${r.statusLine}`);
  assert.equal(r.json?.error?.code, 'payload_too_large');
});

test('Expect: 100-continue with an acceptable body gets 100 Continue and then the answer', async () => {
  const body = JSON.stringify({ login: 'citizen', password: PASSWORD, token: true });
  const r1 = await rawExchange(srv.port,
    'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    { timeout: 3000 });
  assert.equal(r1.status, 100, `interim response: ${r1.statusLine}`);
});

test('wrong password → 401, same message as an unknown login', async () => {
  const r = await srv.req('POST', '/api/v1/session', { json: { login: 'citizen', password: 'wrong-password-1' } });
  const e1 = assertError(r, 401, 'unauthenticated');
  const r2 = await srv.req('POST', '/api/v1/session', { json: { login: 'no_such_user_x', password: 'wrong-password-1' } });
  const e2 = assertError(r2, 401, 'unauthenticated');
  assert.equal(e1.message, e2.message);
  assert.equal(r.headers.getSetCookie().length, 0, 'no cookie on failure');
});

test('citizen calling an admin route → 403', async () => {
  const s = await srv.login('citizen');
  const r = await srv.req('GET', '/api/v1/users', { auth: s });
  assertError(r, 403, 'permission_denied');
  const t = await srv.loginToken('citizen');
  const r2 = await srv.req('GET', '/api/v1/users', { auth: t });
  assertError(r2, 403, 'permission_denied');
});

test('no session → 401', async () => {
  for (const p of ['/api/v1/users', '/api/v1/session', '/api/v1/me', '/api/v1/audit']) {
    assertError(await srv.req('GET', p), 401, 'unauthenticated');
  }
  assertError(await srv.req('GET', '/api/v1/me', { cookie: 'isle_session=bogus' }), 401, 'unauthenticated');
  assertError(await srv.req('GET', '/api/v1/me', { token: 'bogus' }), 401, 'unauthenticated');
});

// ---- login ----

test('login sets an HttpOnly SameSite=Strict cookie and returns user and csrf_token', async () => {
  const r = await srv.req('POST', '/api/v1/session', { json: { login: 'citizen', password: PASSWORD } });
  assert.equal(r.status, 200, r.text);
  const c = r.headers.getSetCookie().find((x) => x.startsWith('isle_session='));
  assert.ok(c, 'isle_session cookie set');
  assert.match(c, /;\s*HttpOnly/i);
  assert.match(c, /;\s*SameSite=Strict/i);
  assert.match(c, /;\s*Path=\//i);
  assert.ok(c.split(';')[0].length > 'isle_session='.length + 20, 'session value is long and random');
  assert.equal(r.json.user.login, 'citizen');
  assert.equal(r.json.user.role, 'citizen');
  assert.equal(r.json.user.role_name, '群众');
  assert.equal(typeof r.json.csrf_token, 'string');
  assert.ok(r.json.csrf_token.length >= 16);
  assert.match(r.json.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(!('password_hash' in r.json.user) && !('password' in r.json.user));
  // the session works and reports the same csrf token
  const cookie = c.split(';')[0];
  const g = await srv.req('GET', '/api/v1/session', { cookie });
  assert.equal(g.status, 200);
  assert.equal(g.json.user.login, 'citizen');
  assert.equal(g.json.csrf_token, r.json.csrf_token);
});

test('unknown fields → 400 naming the field', async () => {
  const r = await srv.req('POST', '/api/v1/session', { json: { login: 'citizen', password: PASSWORD, remember_me: true } });
  assertError(r, 400, 'invalid_argument', 'remember_me');
});

test('wrong types → 400 naming the field', async () => {
  assertError(await srv.req('POST', '/api/v1/session', { json: { login: 123, password: PASSWORD } }),
    400, 'invalid_argument', 'login');
  assertError(await srv.req('POST', '/api/v1/session', { json: { login: 'citizen', password: ['x'] } }),
    400, 'invalid_argument', 'password');
  assertError(await srv.req('POST', '/api/v1/session', { json: { login: 'citizen', password: PASSWORD, token: 'yes' } }),
    400, 'invalid_argument', 'token');
  assertError(await srv.req('POST', '/api/v1/session', { json: { password: PASSWORD } }),
    400, 'invalid_argument', 'login');
  // a body that is JSON but not an object
  assertError(await srv.req('POST', '/api/v1/session', { json: ['citizen', PASSWORD] }), 400, 'invalid_argument');
});

test('invalid UTF-8 in a JSON body → 400', async () => {
  const body = Buffer.concat([Buffer.from('{"login":"cit'), Buffer.from([0xff, 0xfe]),
    Buffer.from(`","password":"${PASSWORD}"}`)]);
  assertError(await srv.req('POST', '/api/v1/session', { body, headers: JSON_CT }), 400, 'invalid_argument');
  // overlong encoding of "/" and a lone surrogate
  const overlong = Buffer.concat([Buffer.from('{"login":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('","password":"xxxxxxxx"}')]);
  assertError(await srv.req('POST', '/api/v1/session', { body: overlong, headers: JSON_CT }), 400, 'invalid_argument');
  const surrogate = Buffer.concat([Buffer.from('{"login":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","password":"xxxxxxxx"}')]);
  assertError(await srv.req('POST', '/api/v1/session', { body: surrogate, headers: JSON_CT }), 400, 'invalid_argument');
});

test('JSON nested 100 deep → 400', async () => {
  const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
  const body = `{"login":"citizen","password":"${PASSWORD}","token":${deep}}`;
  assertError(await srv.req('POST', '/api/v1/session', { body, headers: JSON_CT }), 400, 'invalid_argument');
  const deepObj = `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`;
  assertError(await srv.req('POST', '/api/v1/session', { body: deepObj, headers: JSON_CT }), 400, 'invalid_argument');
});

test('non-JSON content type on a JSON route → 415', async () => {
  const r = await srv.req('POST', '/api/v1/session', {
    body: `login=citizen&password=${PASSWORD}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assertError(r, 415, 'unsupported_media_type');
});

// ---- CSRF and logout ----

test('cookie DELETE /api/v1/session needs X-CSRF-Token; afterwards the cookie is dead', async () => {
  const s = await srv.login('citizen');
  const r1 = await srv.req('DELETE', '/api/v1/session', { cookie: s.cookie });
  assertError(r1, 403, 'permission_denied');
  const r2 = await srv.req('DELETE', '/api/v1/session', { cookie: s.cookie, csrf: 'not-the-token' });
  assertError(r2, 403, 'permission_denied');
  assert.equal((await srv.req('GET', '/api/v1/me', { cookie: s.cookie })).status, 200, 'still logged in after refusals');
  const r3 = await srv.req('DELETE', '/api/v1/session', { cookie: s.cookie, csrf: s.csrf });
  assert.equal(r3.status, 204);
  assert.equal(r3.text, '');
  assertError(await srv.req('GET', '/api/v1/me', { cookie: s.cookie }), 401, 'unauthenticated');
  assertError(await srv.req('GET', '/api/v1/session', { cookie: s.cookie }), 401, 'unauthenticated');
});

test('CSRF token of another session is refused', async () => {
  const a = await srv.login('citizen');
  const b = await srv.login('company');
  const r = await srv.req('DELETE', '/api/v1/session', { cookie: a.cookie, csrf: b.csrf });
  assertError(r, 403, 'permission_denied');
});

test('bearer token login: no cookie, works without CSRF, DELETE ends it', async () => {
  const r = await srv.req('POST', '/api/v1/session', { json: { login: 'company', password: PASSWORD, token: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.getSetCookie().length, 0, 'no cookie with token:true');
  assert.equal(typeof r.json.token, 'string');
  assert.ok(r.json.token.length >= 20);
  assert.equal(r.json.user.login, 'company');
  const token = r.json.token;
  const me = await srv.req('GET', '/api/v1/me', { token });
  assert.equal(me.status, 200);
  assert.equal(me.json.login ?? me.json.user?.login, 'company');
  const d = await srv.req('DELETE', '/api/v1/session', { token });
  assert.equal(d.status, 204, d.text);
  assertError(await srv.req('GET', '/api/v1/me', { token }), 401, 'unauthenticated');
});

test('a cross-site Origin on a POST → 403; same origin is fine', async () => {
  const body = { login: 'citizen', password: PASSWORD };
  const evil = await srv.req('POST', '/api/v1/session', { json: body, headers: { Origin: 'https://evil.example' } });
  assertError(evil, 403, 'permission_denied');
  assert.equal(evil.headers.getSetCookie().length, 0);
  const t = await srv.loginToken('citizen');
  const evil2 = await srv.req('DELETE', '/api/v1/session', { token: t.token, headers: { Origin: 'http://attacker.test' } });
  assertError(evil2, 403, 'permission_denied');
  const same = await srv.req('POST', '/api/v1/session', { json: body, headers: { Origin: srv.base } });
  assert.equal(same.status, 200, same.text);
});

test('GET /api/v1/session returns the user and csrf_token', async () => {
  const s = await srv.login('staff');
  const r = await srv.req('GET', '/api/v1/session', { cookie: s.cookie });
  assert.equal(r.status, 200);
  assert.equal(r.json.user.role, 'staff');
  assert.equal(r.json.csrf_token, s.csrf);
  assert.match(r.json.expires_at, /Z$/);
});

// Last: rate limiting may key on the client address as well as the login.
test('many wrong passwords for one login → 429 with Retry-After', async () => {
  const admin = await srv.loginToken('admin');
  const login = `rl_${uniq()}`;
  const c = await srv.req('POST', '/api/v1/users', {
    token: admin.token,
    json: { login, password: 'RateLimit@2026', role: 'citizen', display_name: 'Rate Limit' },
  });
  assert.equal(c.status, 201, c.text);
  let limited = null;
  let attempts = 0;
  for (; attempts < 60; attempts++) {
    const r = await srv.req('POST', '/api/v1/session', { json: { login, password: `wrong-${attempts}-xx` } });
    if (r.status === 429) { limited = r; break; }
    assert.equal(r.status, 401, `attempt ${attempts}: ${r.status}`);
  }
  assert.ok(limited, 'got 429 within 60 wrong passwords');
  assert.ok(attempts >= 3, `not limited after only ${attempts} failures`);
  assertError(limited, 429, 'rate_limited');
  const ra = limited.headers.get('retry-after');
  assert.match(ra ?? '', /^\d+$/, `Retry-After: ${ra}`);
  assert.ok(Number(ra) >= 1);
  // while limited, even the right password is refused
  const ok = await srv.req('POST', '/api/v1/session', { json: { login, password: 'RateLimit@2026' } });
  assert.equal(ok.status, 429);
  // another login is not affected by this login's failures
  const other = await srv.req('POST', '/api/v1/session', { json: { login: 'supervisor', password: PASSWORD, token: true } });
  assert.equal(other.status, 200, `unrelated login: ${other.status} ${other.text}`);
});
