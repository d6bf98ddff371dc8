// 统一CA互认: the CA trust store, certificate registration and challenge–response
// certificate login. A fresh PKI from tests/tools/trade-pki.sh (RSA root + intermediate
// as the home CA, an ECDSA root and an SM2 root added as other CAs, one of them through
// the CLI), the demo `bidder` registering one certificate of each and logging in with
// signatures made by the openssl CLI; the foreign-CA share counted in /ca/stats; revoked
// (CRL), expired, untrusted, wrong-signature, replayed and malformed logins refused with
// their codes; roles on every endpoint; the failure rate limit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, errorOf, makeTempDir, runIsle, startServer } from './server.mjs';

let srv, pki, tmp;
let staff, bidder, supervisor, citizen;
const roots = {}; // rsa, ec, sm2 → root JSON

const file = (rel) => path.join(pki, rel);
const read = (rel) => fs.readFileSync(file(rel), 'utf8');

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code, JSON.stringify(e));
  if (field !== undefined) assert.equal(e.field, field, JSON.stringify(e));
  assert.ok(e.message.length > 0);
}

/** base64 signature of msg by the openssl CLI (the commands of docs/CA.md). */
function sign(keyRel, msg) {
  const m = path.join(tmp, 'msg.txt');
  const s = path.join(tmp, 'sig.bin');
  fs.writeFileSync(m, msg);
  const sm2 = /sm2/.test(keyRel);
  const args = sm2
    ? ['dgst', '-sm3', '-sign', file(keyRel), '-sigopt', 'distid:1234567812345678', '-out', s, m]
    : ['dgst', '-sha256', '-sign', file(keyRel), '-out', s, m];
  execFileSync('openssl', args);
  return fs.readFileSync(s).toString('base64');
}

async function challenge() {
  const r = await srv.req('POST', '/api/v1/auth/cert/challenge');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.message, `isle-login:v1:${r.json.nonce}`);
  assert.ok(Date.parse(r.json.expires_at) > Date.now());
  return r.json;
}

async function certLogin(certRel, keyRel, extra = {}) {
  const c = await challenge();
  return srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c.nonce, certificate: read(certRel), signature: sign(keyRel, c.message), ...extra },
  });
}

async function stats() {
  const r = await srv.req('GET', '/api/v1/ca/stats', { auth: supervisor });
  assert.equal(r.status, 200, r.text);
  return r.json;
}
const byCa = (s, id) => s.by_ca.find((x) => x.ca_root_id === id)?.logins ?? 0;

before(async () => {
  tmp = makeTempDir('isle-ca-');
  pki = path.join(tmp, 'pki');
  execFileSync('sh', [path.join(ROOT, 'tests/tools/trade-pki.sh'), pki]);
  srv = await startServer();
  [staff, bidder, supervisor, citizen] = await Promise.all(
    ['trading_staff', 'bidder', 'supervisor', 'citizen'].map((l) => srv.loginToken(l)));
});

after(async () => {
  await srv?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('only trading staff and admins add roots; bad roots are refused', async () => {
  const pem = read('ca-rsa/root.crt');
  assertError(await srv.req('POST', '/api/v1/ca/roots', { auth: bidder, json: { pem } }), 403);
  assertError(await srv.req('POST', '/api/v1/ca/roots', { json: { pem } }), 401);
  assertError(await srv.req('POST', '/api/v1/ca/roots', { auth: staff, json: { pem: 'garbage' } }),
    400, 'invalid_argument', 'pem');
  assertError(await srv.req('POST', '/api/v1/ca/roots', { auth: staff, json: { pem: read('users/rsa1.crt') } }),
    422, 'not_a_ca', 'pem');
  assertError(await srv.req('POST', '/api/v1/ca/roots', { auth: staff, json: { pem, extra: 1 } }),
    400, 'invalid_argument', 'extra');

  let r = await srv.req('POST', '/api/v1/ca/roots', {
    auth: staff, json: { pem, name: '舟山测试CA', home: true },
  });
  assert.equal(r.status, 201, r.text);
  roots.rsa = r.json.root;
  assert.equal(roots.rsa.key_type, 'rsa');
  assert.equal(roots.rsa.home, 1);
  assert.match(roots.rsa.fingerprint, /^[0-9a-f]{64}$/);
  assertError(await srv.req('POST', '/api/v1/ca/roots', { auth: staff, json: { pem } }), 409, 'conflict');

  r = await srv.req('POST', '/api/v1/ca/roots', {
    auth: staff, json: { pem: read('ca-sm2/root.crt'), name: '国密测试CA' },
  });
  assert.equal(r.status, 201, r.text);
  roots.sm2 = r.json.root;
  assert.equal(roots.sm2.key_type, 'sm2');
  assert.equal(roots.sm2.home, 0);

  // The ECDSA root through the CLI, on the running server's database.
  const cli = runIsle(['--db', srv.dbPath, 'ca', 'add', file('ca-ec/root.crt'), '--name', '浙江测试CA']);
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /added root \d+: 浙江测试CA \(ec\)/);
  const again = runIsle(['--db', srv.dbPath, 'ca', 'add', file('ca-ec/root.crt')]);
  assert.equal(again.status, 1);
  const list = runIsle(['--db', srv.dbPath, 'ca', 'list', '--json']);
  assert.equal(list.status, 0, list.stderr);
  assert.ok(JSON.parse(list.stdout).some((x) => x.name === '浙江测试CA'));

  // The public list, without logging in.
  r = await srv.req('GET', '/api/v1/ca/roots');
  assert.equal(r.status, 200, r.text);
  roots.ec = r.json.items.find((x) => x.name === '浙江测试CA');
  assert.ok(roots.ec, JSON.stringify(r.json));
  assert.equal(roots.ec.key_type, 'ec');
  for (const k of ['rsa', 'sm2']) assert.ok(r.json.items.some((x) => x.fingerprint === roots[k].fingerprint));
  for (const x of r.json.items) {
    for (const f of ['name', 'subject', 'key_type', 'home', 'fingerprint', 'not_after']) assert.ok(f in x, f);
    assert.ok(!('pem' in x));
  }
});

test('the CLI checks a certificate against the trust store', () => {
  let r = runIsle(['--db', srv.dbPath, 'ca', 'check', file('users/sm2a.crt'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.ok, true);
  assert.equal(j.key_type, 'sm2');
  assert.equal(j.foreign_ca, true);
  r = runIsle(['--db', srv.dbPath, 'ca', 'check', file('untrusted/user.crt'), '--json']);
  assert.equal(r.status, 1);
  assert.equal(JSON.parse(r.stdout).code, 'untrusted_ca');
  r = runIsle(['--db', srv.dbPath, 'ca', 'check', file('users/expired1.chain.pem')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cert_expired/);
  r = runIsle(['--db', srv.dbPath, 'ca', 'bogus']);
  assert.equal(r.status, 2);
});

test('a bidder registers certificates of three CAs; bad ones are refused', async () => {
  assertError(await srv.req('POST', '/api/v1/trade/certs', {
    auth: citizen, json: { certificate: read('users/rsa1.chain.pem') },
  }), 403);
  const fps = [];
  for (const [rel, kt] of [['users/rsa1.chain.pem', 'rsa'], ['users/ec1.crt', 'ec'], ['users/sm2a.crt', 'sm2']]) {
    const r = await srv.req('POST', '/api/v1/trade/certs', { auth: bidder, json: { certificate: read(rel) } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.cert.key_type, kt);
    assert.equal(r.json.cert.status, 'active');
    fps.push(r.json.cert.fingerprint);
  }
  // Registering again is harmless.
  const again = await srv.req('POST', '/api/v1/trade/certs', { auth: bidder, json: { certificate: read('users/ec1.crt') } });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.json.cert.fingerprint, fps[1]);
  const me = await srv.req('GET', '/api/v1/trade/certs/me', { auth: bidder });
  assert.equal(me.status, 200, me.text);
  for (const fp of fps) assert.ok(me.json.items.some((c) => c.fingerprint === fp));
  const sm2 = me.json.items.find((c) => c.fingerprint === fps[2]);
  assert.equal(sm2.ca_root_id, roots.sm2.id);
  assert.equal(sm2.foreign_ca, 1);

  assertError(await srv.req('POST', '/api/v1/trade/certs', { auth: bidder, json: { certificate: read('untrusted/user.crt') } }),
    422, 'untrusted_ca', 'certificate');
  assertError(await srv.req('POST', '/api/v1/trade/certs', { auth: bidder, json: { certificate: read('users/expired1.chain.pem') } }),
    422, 'cert_expired', 'certificate');
  assertError(await srv.req('POST', '/api/v1/trade/certs', { auth: bidder, json: { certificate: 'not a certificate' } }),
    400, 'invalid_argument', 'certificate');
  assertError(await srv.req('POST', '/api/v1/trade/certs', { auth: bidder, json: {} }),
    400, 'invalid_argument', 'certificate');
});

test('certificate login by challenge with RSA, ECDSA and SM2; other CAs counted', async () => {
  const before = await stats();
  for (const [cert, key] of [['users/rsa1.chain.pem', 'users/rsa1.key'], ['users/ec1.crt', 'users/ec1.key'],
    ['users/sm2a.crt', 'users/sm2a.key']]) {
    const r = await certLogin(cert, key);
    assert.equal(r.status, 200, `${cert}: ${r.text}`);
    assert.equal(r.json.user.login, 'bidder');
    assert.ok(r.json.csrf_token);
    const cookie = r.headers.getSetCookie().find((c) => c.startsWith('isle_session='));
    assert.ok(cookie, 'session cookie');
    const s = await srv.req('GET', '/api/v1/session', { cookie: cookie.split(';')[0] });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.user.login, 'bidder');
  }
  // A bearer token, as password login gives one.
  const t = await certLogin('users/sm2a.crt', 'users/sm2a.key', { token: true });
  assert.equal(t.status, 200, t.text);
  const me = await srv.req('GET', '/api/v1/me', { token: t.json.token });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.login, 'bidder');

  const now = await stats();
  assert.equal(now.logins - before.logins, 4);
  assert.equal(now.foreign_logins - before.foreign_logins, 3);
  assert.equal(byCa(now, roots.rsa.id) - byCa(before, roots.rsa.id), 1);
  assert.equal(byCa(now, roots.ec.id) - byCa(before, roots.ec.id), 1);
  assert.equal(byCa(now, roots.sm2.id) - byCa(before, roots.sm2.id), 2);
  assert.ok(now.rate >= 0 && now.rate <= 1);
  assert.ok(Math.abs(now.rate - now.foreign_logins / now.logins) < 1e-9);
  assertError(await srv.req('GET', '/api/v1/ca/stats', { auth: bidder }), 403);
  const staffStats = await srv.req('GET', '/api/v1/ca/stats?from=2000-01-01&to=2000-02-01', { auth: staff });
  assert.equal(staffStats.status, 200, staffStats.text);
  assert.equal(staffStats.json.logins, 0);
  assertError(await srv.req('GET', '/api/v1/ca/stats?from=yesterday', { auth: staff }), 400, 'invalid_argument', 'from');
});

test('replayed, wrong and malformed logins are refused with their codes', async () => {
  const c = await challenge();
  const body = { nonce: c.nonce, certificate: read('users/ec1.crt'), signature: sign('users/ec1.key', c.message) };
  assert.equal((await srv.req('POST', '/api/v1/auth/cert/login', { json: body })).status, 200);
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', { json: body }), 422, 'challenge_expired', 'nonce');

  const c2 = await challenge();
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('users/ec1.crt'), signature: sign('users/ec2.key', c2.message) },
  }), 422, 'bad_signature', 'signature');
  // Signed something else than the challenge.
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('users/sm2a.crt'), signature: sign('users/sm2a.key', 'isle-login:v1:other') },
  }), 422, 'bad_signature');
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('untrusted/user.crt'), signature: sign('untrusted/user.key', c2.message) },
  }), 422, 'untrusted_ca', 'certificate');
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('users/expired1.chain.pem'), signature: sign('users/expired1.key', c2.message) },
  }), 422, 'cert_expired', 'certificate');
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: 'x'.repeat(43), certificate: read('users/ec1.crt'), signature: sign('users/ec1.key', c2.message) },
  }), 422, 'challenge_expired', 'nonce');
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: 'garbage', signature: 'AAAA' },
  }), 400, 'invalid_argument', 'certificate');
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('users/ec1.crt'), signature: '%%%' },
  }), 400, 'invalid_argument', 'signature');
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('users/ec1.crt') },
  }), 400, 'invalid_argument', 'signature');
  // A good certificate that nobody registered.
  assertError(await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('users/rsa2.chain.pem'), signature: sign('users/rsa2.key', c2.message) },
  }), 401, 'unauthenticated');
  // Still unused after all those failures.
  const ok = await srv.req('POST', '/api/v1/auth/cert/login', {
    json: { nonce: c2.nonce, certificate: read('users/ec1.crt'), signature: sign('users/ec1.key', c2.message) },
  });
  assert.equal(ok.status, 200, ok.text);
});

test('a CRL revokes a registered certificate; only staff import CRLs', async () => {
  const reg = await srv.req('POST', '/api/v1/trade/certs', {
    auth: bidder, json: { certificate: read('users/revoked1.chain.pem') },
  });
  assert.equal(reg.status, 201, reg.text);
  assert.equal((await certLogin('users/revoked1.chain.pem', 'users/revoked1.key')).status, 200);

  const pem = read('ca-rsa/inter.crl.pem');
  assertError(await srv.req('POST', '/api/v1/ca/crls', { auth: bidder, json: { pem } }), 403);
  assertError(await srv.req('POST', '/api/v1/ca/crls', { auth: staff, json: { pem: 'junk' } }), 400, 'invalid_argument', 'pem');
  const r = await srv.req('POST', '/api/v1/ca/crls', { auth: staff, json: { pem } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.crl.revoked, 1);
  assert.equal(r.json.crl.certs_revoked, 1);
  assertError(await srv.req('POST', '/api/v1/ca/crls', { auth: staff, json: { pem } }), 409);

  assertError(await certLogin('users/revoked1.chain.pem', 'users/revoked1.key'), 422, 'cert_revoked', 'certificate');
  const me = await srv.req('GET', '/api/v1/trade/certs/me', { auth: bidder });
  assert.equal(me.json.items.find((c) => c.fingerprint === reg.json.cert.fingerprint).status, 'revoked');
  // Others of the same intermediate still work.
  assert.equal((await certLogin('users/rsa1.crt', 'users/rsa1.key')).status, 200);
});

test('disabling a root stops its certificates', async () => {
  assertError(await srv.req('PATCH', `/api/v1/ca/roots/${roots.ec.id}`, { auth: bidder, json: { disabled: true } }), 403);
  let r = await srv.req('PATCH', `/api/v1/ca/roots/${roots.ec.id}`, { auth: staff, json: { disabled: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.root.disabled, 1);
  assert.ok(!(await srv.req('GET', '/api/v1/ca/roots')).json.items.some((x) => x.id === roots.ec.id));
  assertError(await certLogin('users/ec1.crt', 'users/ec1.key'), 422, 'untrusted_ca');
  r = await srv.req('PATCH', `/api/v1/ca/roots/${roots.ec.id}`, { auth: staff, json: { disabled: false } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await certLogin('users/ec1.crt', 'users/ec1.key')).status, 200);
});

test('repeated failures with one certificate are rate limited', async () => {
  let last;
  for (let i = 0; i < 6; i++) {
    const c = await challenge();
    last = await srv.req('POST', '/api/v1/auth/cert/login', {
      json: { nonce: c.nonce, certificate: read('users/ec2.crt'), signature: sign('users/ec2.key', c.message) },
    });
    if (i < 5) assertError(last, 401, 'unauthenticated');
  }
  assertError(last, 429, 'rate_limited');
  assert.ok(Number(last.headers.get('retry-after')) > 0);
});
