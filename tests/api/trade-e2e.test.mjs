// End to end (issue 6, first done-when criterion): public resource trading driven only
// through the public API, the isle CLI and the `openssl` command line, as the centre's
// staff, bidders, experts and custodians would.
//
// A fresh database without demo data (so the figures at the end count exactly this run):
// trading staff add three CA roots (RSA home, SM2 and ECDSA others) through the API;
// four bidder users, made with the admin users API, register companies and certificates
// of the RSA, ECDSA and SM2 CAs and log in by certificate challenge–response (openssl
// signatures); the backup key is made with `isle trade backup-key init` for three
// supervisors; staff create and announce three tenders, one per evaluation method, with
// deposits and deadlines seconds away (ISLE_TRADE_MIN_NOTICE_DAYS=0); bidders pay and
// seal with scripts/seal-bid.sh (CMS for RSA/ECDSA, the sm2 container for SM2, both to
// the backup key too); the host runs each hall to a confirmed, signed record (each
// bidder decrypts locally with the openssl commands of docs/BIDDING.md and signs the
// record hash; one bidder never decrypts its bid for C: art. 31, withdrawn); experts
// drawn with one conflicted expert avoided score online; compute, report, publicity
// with an objection blocking the award, award, contract, 节约率; the OCDS export and
// endpoint validate (ajv, data/ocds); /stats/trading counts it all.
//
// SQL writes only move clock-bound windows into the past where waiting is impossible
// (the hall's decryption and objections windows of ≥ 1 minute, publicity_until of ≥ 1
// day); a few read-only SELECTs check the audit trail.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { PASSWORD, ROOT, dbQuery, errorOf, makeTempDir, runIsle, runIsleOk, startServer } from './server.mjs';
import { uscc } from './trade-hall-fixture.mjs';
import { assertValidPackage, buildValidator } from './trade-ocds-schema.mjs';

const execFileP = promisify(execFile);
const SEAL = path.join(ROOT, 'scripts/seal-bid.sh');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round2 = (x) => Math.round(x * 100) / 100;
const round4 = (x) => Math.round(x * 10000) / 10000;

let srv, tmp, pki;
let admin, staff, supervisor;
const supervisors = [];
const roots = {};
let backupCrt; // the backup certificate as a bidder downloads it

// Four bidders: certificates of three different CAs, two of them SM2 (the foreign 国密 CA).
const BIDDERS = [
  { cert: 'rsa1', ca: 'rsa', name: '舟山海通建设有限公司' },
  { cert: 'ec1', ca: 'ec', name: '宁波港城工程有限公司' },
  { cert: 'sm2a', ca: 'sm2', name: '浙江东海路桥集团有限公司' },
  { cert: 'sm2b', ca: 'sm2', name: '岱山蓝海市政有限公司' },
];
const bidders = [];
const experts = []; // {login, auth, id, name, tied}
const T = {}; // A lowest_price, B composite, C reasonable_low

// ---- helpers ----

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code, JSON.stringify(e));
  if (field !== undefined) assert.equal(e.field, field, JSON.stringify(e));
  return e;
}

const pkiFile = (rel) => path.join(pki, rel);
const isSm2 = (b) => b.ca === 'sm2';

/** base64 signature of msg with the openssl CLI, exactly as docs/CA.md shows. */
function opensslSign(b, msg) {
  const dir = fs.mkdtempSync(path.join(tmp, 'sig-'));
  const m = path.join(dir, 'msg.txt');
  const s = path.join(dir, 'sig.bin');
  fs.writeFileSync(m, msg);
  const key = pkiFile(`users/${b.cert}.key`);
  execFileSync('openssl', isSm2(b)
    ? ['dgst', '-sm3', '-sign', key, '-sigopt', 'distid:1234567812345678', '-out', s, m]
    : ['dgst', '-sha256', '-sign', key, '-out', s, m]);
  return execFileSync('openssl', ['base64', '-A', '-in', s]).toString().trim();
}

async function mkUser(role, login, display) {
  const r = await srv.req('POST', '/api/v1/users', {
    auth: admin, json: { login, password: PASSWORD, role, display_name: display },
  });
  assert.equal(r.status, 201, r.text);
  return r.json.user;
}

const hall = (id, action, auth, json = {}) =>
  srv.req('POST', `/api/v1/trade/tenders/${id}/hall/${action}`, { auth, json });

const sql = (s) => dbQuery(srv.dbPath, s);

// The OCDS package validator: trade-ocds-schema.mjs.
let validatePackage;
function assertValid(pkg, what) {
  assertValidPackage(validatePackage, pkg, what);
}
const releaseOf = (pkg, t) => pkg.releases.find((x) => x.ocid === `ocds-isle0zs-${t.no}`);

// ---- setup: a fresh database, the operator's admin, the PKI ----

before(async () => {
  const t0 = Date.now();
  tmp = makeTempDir('isle-e2e-');
  pki = path.join(tmp, 'pki');
  execFileSync('sh', [path.join(ROOT, 'tests/tools/trade-pki.sh'), pki]);
  validatePackage = buildValidator();
  srv = await startServer({
    demo: false,
    env: { ISLE_TRADE_MIN_NOTICE_DAYS: '0', ISLE_AUCTION_SCAN_MS: '0', ISLE_SCREEN_SCAN_MS: '0' },
  });
  // The operator's first admin, from the command line; everyone else through the API.
  runIsleOk(['--db', srv.dbPath, 'user', 'add', '--role', 'admin', '--login', 'e2e_admin', '--name', '系统管理员'],
    { input: `${PASSWORD}\n` });
  admin = await srv.loginToken('e2e_admin');
  await mkUser('trading_staff', 'e2e_host', '交易中心主持人');
  staff = await srv.loginToken('e2e_host');
  for (const l of ['e2e_sup1', 'e2e_sup2', 'e2e_sup3']) {
    await mkUser('supervisor', l, `监管${l.slice(-1)}`);
    supervisors.push(l);
  }
  supervisor = await srv.loginToken('e2e_sup1');
  console.log(`# setup ${Date.now() - t0} ms`);
});

after(async () => {
  await srv?.stop();
  if (tmp && !process.env.ISLE_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- 1. CA trust store, companies, certificates, certificate logins ----

test('staff trust three CAs; bidders register companies and certificates and log in by certificate', async () => {
  for (const [k, file, name, home] of [['rsa', 'ca-rsa/root.crt', '舟山市公共资源交易CA', true],
    ['sm2', 'ca-sm2/root.crt', '国密互认CA', false], ['ec', 'ca-ec/root.crt', '浙江互认CA', false]]) {
    const r = await srv.req('POST', '/api/v1/ca/roots', {
      auth: staff, json: { pem: fs.readFileSync(pkiFile(file), 'utf8'), name, home },
    });
    assert.equal(r.status, 201, r.text);
    roots[k] = r.json.root;
  }
  assert.deepEqual([roots.rsa.key_type, roots.sm2.key_type, roots.ec.key_type], ['rsa', 'sm2', 'ec']);
  assert.deepEqual([roots.rsa.home, roots.sm2.home, roots.ec.home], [1, 0, 0]);

  for (let i = 0; i < BIDDERS.length; i++) {
    const b = { ...BIDDERS[i], login: `e2e_bidder${i + 1}`, uscc: uscc(`913309000MA2B8E0${i}`) };
    await mkUser('bidder', b.login, `投标人${i + 1}`);
    const pw = await srv.loginToken(b.login);
    let r = await srv.req('POST', '/api/v1/trade/companies', {
      auth: pw, json: { uscc: b.uscc, name: b.name, legal_rep: `法人${i + 1}`, address: '浙江省舟山市定海区' },
    });
    assert.equal(r.status, 201, r.text);
    b.companyId = r.json.id;
    // The certificate, leaf first then the intermediates (docs/CA.md).
    const chain = fs.readFileSync(pkiFile(`users/${b.cert}.chain.pem`), 'utf8');
    r = await srv.req('POST', '/api/v1/trade/certs', { auth: pw, json: { certificate: chain } });
    assert.equal(r.status, 201, r.text);
    b.certId = r.json.cert.id;
    assert.equal(r.json.cert.key_type, b.ca === 'ec' ? 'ec' : b.ca);
    assert.equal(r.json.cert.ca_root_id, roots[b.ca].id);
    assert.equal(Boolean(r.json.cert.foreign_ca), b.ca !== 'rsa');
    // Challenge–response login, the signature made by the openssl CLI.
    const c = await srv.req('POST', '/api/v1/auth/cert/challenge');
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json.message, `isle-login:v1:${c.json.nonce}`);
    r = await srv.req('POST', '/api/v1/auth/cert/login', {
      json: { nonce: c.json.nonce, certificate: chain, signature: opensslSign(b, c.json.message), token: true },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.user.login, b.login);
    b.auth = { token: r.json.token };
    // The same nonce works once.
    r = await srv.req('POST', '/api/v1/auth/cert/login', {
      json: { nonce: c.json.nonce, certificate: chain, signature: opensslSign(b, c.json.message), token: true },
    });
    assertError(r, 422, 'challenge_expired');
    bidders.push(b);
  }
  const st = await srv.req('GET', '/api/v1/ca/stats', { auth: supervisor });
  assert.equal(st.status, 200, st.text);
  assert.deepEqual([st.json.logins, st.json.foreign_logins, st.json.rate], [4, 3, 0.75]);
});

// ---- 2. the centre's backup key ----

test('the backup key is split among three supervisors and published for bidders', async () => {
  const out = path.join(tmp, 'backup-key');
  const r = runIsleOk(['--db', srv.dbPath, 'trade', 'backup-key', 'init', '--custodians', supervisors.join(','),
    '--threshold', '2', '--out', out]);
  const shares = fs.readdirSync(out).filter((f) => f.startsWith('share-'));
  assert.equal(shares.length, 3, r.stdout);
  for (const f of shares) assert.equal(fs.statSync(path.join(out, f)).mode & 0o777, 0o600);
  // A bidder fetches the certificate from the API and checks its fingerprint.
  const res = await fetch(`${srv.base}/api/v1/trade/backup-cert`);
  assert.equal(res.status, 200);
  const pem = await res.text();
  backupCrt = path.join(tmp, 'backup.crt');
  fs.writeFileSync(backupCrt, pem);
  const der = execFileSync('openssl', ['x509', '-in', backupCrt, '-outform', 'DER']);
  assert.equal(crypto.createHash('sha256').update(der).digest('hex'), res.headers.get('x-cert-sha256'));
  assert.equal(pem.trim(), fs.readFileSync(path.join(out, 'backup.crt'), 'utf8').trim());
  // No private key lies beside the certificate: only shares.
  assert.deepEqual(fs.readdirSync(out).filter((f) => /key/.test(f)), []);
});

// ---- 3. tenders, deposits, sealed bids ----

// Prices in yuan per tender and bidder (bidder order as BIDDERS).
const PLAN = {
  A: { kind: 'works', method: 'lowest_price', budget: 5000000, deposit: 50000, title: '六横镇小郭巨码头改造工程施工',
    buyer: '舟山市普陀区六横镇人民政府', prices: ['4650000.00', '4480000.50', '4720000.00', '5100000.00'] },
  B: { kind: 'procurement', method: 'composite', budget: 2000000, deposit: 20000, title: '海岛便民服务站智能终端采购',
    buyer: '舟山市政务服务办公室', prices: ['1800000.00', '1900000.00', '1750000.00', '1950000.00'],
    params: { price_weight: 30, tech_weight: 70 } },
  C: { kind: 'works', method: 'reasonable_low', budget: 8000000, deposit: 100000, title: '岱山县环岛公路提升改造工程',
    buyer: '岱山县交通运输局', prices: ['7600000.00', '7400000.00', '7800000.00', '7200000.00'],
    params: { factor_min: 0.95, factor_max: 0.98 }, skip: 3 }, // bidder 4 never decrypts (art. 31)
};
let deadline;

function plaintext(t, b, i, price) {
  return JSON.stringify({
    tender_no: t.no, uscc: b.uscc,
    form: { price, duration_days: 180 + 10 * i, quality: '合格', project_manager: `项目经理${i + 1}`,
      deposit_ref: b.deposits[t.key], lot: 1 },
    documents: [{ name: '技术标.txt', content_base64: Buffer.from(`${b.name} 技术标 ${t.no}`).toString('base64') }],
  });
}

/** seal-bid.sh seal + submit, as the bidder does it at home; returns the receipt JSON. */
async function sealAndSubmit(t, b, text, tag = '') {
  const out = path.join(tmp, `bid-${t.key}-${b.cert}${tag}`);
  fs.mkdirSync(out, { recursive: true });
  const bidFile = path.join(out, 'bid.json');
  fs.writeFileSync(bidFile, text);
  await execFileP('bash', [SEAL, 'seal', bidFile, t.no, b.uscc, pkiFile(`users/${b.cert}.key`),
    pkiFile(`users/${b.cert}.crt`), backupCrt, out]);
  await execFileP('bash', [SEAL, 'submit', srv.base, b.auth.token, String(t.id), out]);
  return { out, receipt: JSON.parse(fs.readFileSync(path.join(out, 'receipt.json'), 'utf8')) };
}

test('three tenders, one per evaluation method, announced with deposits; bids sealed with openssl', async () => {
  // Deadlines a few seconds ahead: enough to pay and seal, short enough to wait for.
  deadline = Date.now() + 18000;
  for (const key of ['A', 'B', 'C']) {
    const p = PLAN[key];
    let r = await srv.req('POST', '/api/v1/trade/tenders', {
      auth: staff,
      json: {
        kind: p.kind, method: p.method, title: p.title, buyer: p.buyer, agency: '舟山市公共资源交易中心',
        budget: String(p.budget), deposit: String(p.deposit), deadline_at: new Date(deadline).toISOString(),
        publicity_days: 3, ...(p.params ? { method_params: p.params } : {}),
      },
    });
    assert.equal(r.status, 201, r.text);
    const t = { key, id: r.json.id, no: r.json.tender_no, ...p };
    assert.equal(r.json.status, 'draft');
    // Drafts are not public.
    assert.equal((await srv.req('GET', `/api/v1/trade/tenders/${t.id}`)).status, 404);
    r = await srv.req('POST', `/api/v1/trade/tenders/${t.id}/announce`, { auth: staff, json: {} });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'announced');
    T[key] = t;
  }
  let r = await srv.req('GET', '/api/v1/trade/tenders?phase=open');
  assert.deepEqual(r.json.items.map((x) => x.tender_no).sort(), Object.values(T).map((t) => t.no).sort());

  // Deposits (保证金) with the paying account; without one the upload is refused.
  for (const b of bidders) {
    b.deposits = {};
    for (const t of Object.values(T)) {
      r = await srv.req('POST', `/api/v1/trade/tenders/${t.id}/deposits`, {
        auth: b.auth,
        json: { amount: String(t.deposit), account_no: `6222 0212 0000 ${1000 + b.companyId}`,
          account_name: b.name, bank: '中国工商银行舟山分行' },
      });
      assert.equal(r.status, 201, r.text);
      assert.match(r.json.ref, new RegExp(`^BZJ-${t.no}-\\d+$`));
      b.deposits[t.key] = r.json.ref;
    }
  }
  assertError(await srv.req('GET', `/api/v1/trade/tenders/${T.A.id}/deposits`, { auth: staff }), 403);
  r = await srv.req('GET', `/api/v1/trade/tenders/${T.C.id}`, { auth: bidders[2].auth });
  assert.equal(r.json.my_deposit.id > 0 && r.json.open_for_bids && r.json.can.bid, true, r.text.slice(0, 300));
  r = await srv.req('GET', '/api/v1/trade/tenders?mine=1', { auth: bidders[2].auth });
  assert.equal(r.json.total, 3);

  // Seal and submit: every bidder, every tender, in parallel per tender.
  for (const t of Object.values(T)) {
    await Promise.all(bidders.map(async (b, i) => {
      const text = plaintext(t, b, i, t.prices[i]);
      const { out, receipt } = await sealAndSubmit(t, b, text);
      assert.equal(receipt.status, 'sealed');
      assert.equal(receipt.receipt.tender_no, t.no);
      assert.equal(receipt.receipt.commitment_sha256, crypto.createHash('sha256').update(text).digest('hex'));
      const kind = fs.readFileSync(path.join(out, 'envelope_kind'), 'utf8').trim();
      assert.equal(kind, isSm2(b) ? 'sm2' : 'cms');
      b.bids ??= {};
      b.bids[t.key] = { id: receipt.bid_id, out, text };
    }));
  }
  // A re-submission before the deadline replaces the earlier bid (history kept): bidder 1
  // first sent a higher price for A.
  const b0 = bidders[0];
  const first = b0.bids.A;
  const text = plaintext(T.A, b0, 0, T.A.prices[0]);
  const again = await sealAndSubmit(T.A, b0, text, '-v2');
  b0.bids.A = { id: again.receipt.bid_id, out: again.out, text };
  assert.equal(again.receipt.receipt.seq, 2);
  // The receipt's Ed25519 signature verifies with the published key (openssl).
  const v = await execFileP('bash', [SEAL, 'verify-receipt', srv.base, again.out]);
  assert.match(v.stdout, /Signature Verified Successfully/);

  // Secrecy before the opening: nobody but the bidding company learns that a bid exists.
  r = await srv.req('GET', `/api/v1/trade/tenders/${T.A.id}/bids`, { auth: b0.auth });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.items.map((x) => [x.id, x.status, x.to_backup]),
    [[b0.bids.A.id, 'sealed', true], [first.id, 'replaced', true]], 'sealed to the backup key too');
  r = await srv.req('GET', `/api/v1/trade/tenders/${T.A.id}/bids`, { auth: bidders[1].auth });
  assert.deepEqual(r.json.items.map((x) => x.id), [bidders[1].bids.A.id], 'another bidder sees only its own');
  for (const who of [staff, supervisor, admin]) {
    r = await srv.req('GET', `/api/v1/trade/tenders/${T.A.id}/bids`, { auth: who });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.items, [], 'staff see no bids before the opening');
    assertError(await srv.req('GET', `/api/v1/trade/bids/${b0.bids.A.id}/receipt`, { auth: who }), 404);
  }
  assertError(await srv.req('GET', `/api/v1/trade/bids/${b0.bids.A.id}/receipt`, { auth: bidders[1].auth }), 404);
  r = await srv.req('GET', `/api/v1/trade/tenders/${T.A.id}/hall`, { auth: staff });
  assert.deepEqual([r.json.bids, r.json.signins], [[], []]);
  r = await srv.req('GET', `/api/v1/ocds/releases?tender=${T.A.id}`);
  assert.equal(r.status, 200);
  assertValid(r.json, 'the release before the opening');
  assert.equal(r.json.releases[0].bids, undefined);
  assert.equal(r.json.releases[0].tender.numberOfTenderers, undefined);
  // The server's text holds no price of a sealed bid.
  for (const b of bidders) assert.ok(!r.text.includes(b.name));

  // Wait for the deadline; a bid after it is refused.
  console.log(`# sealed and checked with ${deadline - Date.now()} ms to spare`);
  await sleep(Math.max(0, deadline - Date.now() + 300));
  const late = path.join(tmp, 'late');
  fs.cpSync(bidders[2].bids.A.out, late, { recursive: true });
  await assert.rejects(execFileP('bash', [SEAL, 'submit', srv.base, bidders[2].auth.token, String(T.A.id), late]));
  assert.equal(errorOf({ json: JSON.parse(fs.readFileSync(path.join(late, 'receipt.json'), 'utf8')) }).code,
    'deadline_passed');
});

// ---- 4. the remote opening hall ----

/** What the bidder does at home: decrypt its envelope with its own key (docs/BIDDING.md §5). */
async function decryptAtHome(b, bid) {
  const dir = fs.mkdtempSync(path.join(tmp, 'dec-'));
  fs.copyFileSync(path.join(bid.out, 'envelope'), path.join(dir, 'envelope'));
  fs.copyFileSync(pkiFile(`users/${b.cert}.crt`), path.join(dir, 'bidder.crt'));
  fs.copyFileSync(pkiFile(`users/${b.cert}.key`), path.join(dir, 'bidder.key'));
  const script = isSm2(b) ? `set -e
FP=$(openssl x509 -in bidder.crt -outform DER | sha256sum | cut -d' ' -f1)
grep -o "\\"cert_sha256\\":\\"$FP\\",\\"key\\":\\"[^\\"]*\\"" envelope | cut -d'"' -f8 | base64 -d > key.bidder
openssl pkeyutl -decrypt -inkey bidder.key -in key.bidder -out sm4.key
IV=$(grep -o '"iv":"[0-9a-f]*"' envelope | cut -d'"' -f4)
grep -o '"ciphertext":"[^"]*"' envelope | cut -d'"' -f4 | base64 -d > bid.sm4
openssl enc -d -sm4-cbc -K $(od -An -tx1 sm4.key | tr -d ' \\n') -iv $IV -in bid.sm4 -out bid.json
` : `set -e
openssl cms -decrypt -binary -inform DER -in envelope -recip bidder.crt -inkey bidder.key -out bid.json
`;
  await execFileP('bash', ['-c', script], { cwd: dir });
  return fs.readFileSync(path.join(dir, 'bid.json'));
}

async function runHall(t, { objection }) {
  const id = t.id;
  let r = await hall(id, 'signin', bidders[0].auth);
  assertError(r, 409, 'wrong_step');
  r = await hall(id, 'start', bidders[0].auth);
  assert.equal(r.status, 403);
  r = await hall(id, 'start', staff);
  assert.equal(r.status, 200, r.text);
  for (const b of bidders) {
    r = await hall(id, 'signin', b.auth);
    assert.equal(r.status, 200, r.text);
  }
  assertError(await hall(id, 'close_decrypt', staff), 409, 'wrong_step');
  r = await hall(id, 'begin_decrypt', staff, { minutes: 1 });
  assert.equal(r.status, 200, r.text);
  // Nothing is public until a bid is opened; then 唱标 shows its form to everyone.
  r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`);
  assert.deepEqual(r.json.bids, []);
  assert.equal(r.json.status, 'decrypting');
  const plains = await Promise.all(bidders.map((b) => decryptAtHome(b, b.bids[t.key])));
  for (let i = 0; i < bidders.length; i++) {
    const b = bidders[i];
    assert.equal(plains[i].toString(), b.bids[t.key].text, 'the bidder decrypts its own plaintext');
    if (i === t.skip) continue;
    if (i === 0) {
      // A plaintext that is not the committed one is refused; the bid stays sealed.
      const forged = plains[i].toString().replace(t.prices[i], '1.00');
      r = await hall(id, 'reveal', b.auth, { plaintext_base64: Buffer.from(forged).toString('base64') });
      assertError(r, 422, 'commitment_mismatch');
    }
    r = await hall(id, 'reveal', b.auth, { plaintext_base64: plains[i].toString('base64') });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.announce.price, t.prices[i]);
    assert.equal(r.json.announce.company_name, b.name);
    assert.equal(r.json.announce.deposit_ref, b.deposits[t.key]);
  }
  if (t.skip !== undefined) {
    // A bidder that does not decrypt within the window: art. 31, its bid counts as
    // withdrawn. The window is at least a minute: moved into the past instead of waiting.
    assertError(await hall(id, 'close_decrypt', staff), 409, 'window_open');
    sql(`UPDATE openings SET decrypt_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${id}`);
    r = await hall(id, 'reveal', bidders[t.skip].auth, { plaintext_base64: plains[t.skip].toString('base64') });
    assertError(r, 409, 'window_closed');
  }
  r = await hall(id, 'close_decrypt', staff);
  assert.equal(r.status, 200, r.text);
  if (t.skip !== undefined) {
    const h = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`);
    assert.equal(h.json.bids.find((x) => x.company_name === bidders[t.skip].name).status, 'not_decrypted');
  }
  if (t.method === 'reasonable_low') {
    assert.ok(r.json.benchmark_factor >= 0.95 && r.json.benchmark_factor <= 0.98, r.text);
    t.factor = r.json.benchmark_factor;
  }
  r = await hall(id, 'open_objections', staff, { minutes: 1 });
  assert.equal(r.status, 200, r.text);
  if (objection) {
    r = await hall(id, 'object', bidders[3].auth, { text: '第二名的项目经理是否在其他在建项目任职，请核实。' });
    assert.equal(r.status, 200, r.text);
    const oid = r.json.objection_id;
    // The window has passed (moved below) but the objection is unanswered: no confirmation yet.
    sql(`UPDATE openings SET objections_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${id}`);
    assertError(await hall(id, 'begin_confirm', staff), 409, 'wrong_step');
    assert.equal((await hall(id, 'reply', bidders[0].auth, { objection_id: oid, text: '我来答' })).status, 403);
    r = await hall(id, 'reply', staff, { objection_id: oid, text: '已记录，提交评标委员会核查。' });
    assert.equal(r.status, 200, r.text);
  } else {
    assertError(await hall(id, 'begin_confirm', staff), 409, 'window_open');
    // The objections window is at least a minute: moved into the past instead of waiting.
    sql(`UPDATE openings SET objections_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${id}`);
  }
  r = await hall(id, 'begin_confirm', staff);
  assert.equal(r.status, 200, r.text);
  const sha = r.json.record_sha256;
  assert.equal(r.json.confirm_string, `isle-opening-confirm:v1:${t.no}:${sha}`);
  // Each bidder downloads the record, checks its hash and signs it with its certificate.
  const res = await fetch(`${srv.base}/api/v1/trade/tenders/${id}/hall/record.pdf`);
  assert.equal(res.status, 200);
  const pdf = Buffer.from(await res.arrayBuffer());
  assert.equal(crypto.createHash('sha256').update(pdf).digest('hex'), sha);
  const confirmText = `isle-opening-confirm:v1:${t.no}:${sha}`;
  for (const b of bidders) {
    r = await hall(id, 'confirm', b.auth, { signature: opensslSign(b, confirmText) });
    assert.equal(r.status, 200, r.text);
  }
  assertError(await hall(id, 'confirm', bidders[0].auth, { signature: opensslSign(bidders[0], confirmText) }),
    409, 'already_done');
  r = await hall(id, 'close', staff);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.tender_status, 'evaluation');

  // The signed record: verify the server's Ed25519 signature with openssl (API.md).
  const rec = await fetch(`${srv.base}/api/v1/trade/tenders/${id}/hall/record.pdf`);
  assert.equal(rec.status, 200);
  await rec.arrayBuffer();
  assert.equal(rec.headers.get('x-record-sha256'), sha);
  const m = /^ed25519:([^:]+):([A-Za-z0-9_-]+)$/.exec(rec.headers.get('x-record-signature') || '');
  assert.ok(m, rec.headers.get('x-record-signature'));
  const key = (await srv.req('GET', '/api/v1/proofs/keys')).json.items.find((k) => k.key_id === m[1]);
  assert.ok(key, 'the signing key is published');
  const dir = fs.mkdtempSync(path.join(tmp, 'rec-'));
  fs.writeFileSync(path.join(dir, 'p.txt'), `isle-opening-record:v1:${t.no}:${sha}`);
  fs.writeFileSync(path.join(dir, 'sig.bin'), Buffer.from(m[2], 'base64url'));
  fs.writeFileSync(path.join(dir, 'key.pem'), key.pem);
  const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'key.pem', '-rawin',
    '-in', 'p.txt', '-sigfile', 'sig.bin'], { cwd: dir }).toString();
  assert.match(out, /Signature Verified Successfully/);
  fs.writeFileSync(path.join(dir, 'p.txt'), `isle-opening-record:v1:${t.no}:${'0'.repeat(64)}`);
  assert.throws(() => execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'key.pem', '-rawin',
    '-in', 'p.txt', '-sigfile', 'sig.bin'], { cwd: dir, stdio: 'pipe' }));

  r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`);
  assert.equal(r.json.status, 'closed');
  assert.equal(r.json.confirmations.length, 4);
  assert.equal(r.json.bids.length, 4);
  assert.equal(r.json.objections.length, objection ? 1 : 0);
  r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`, { auth: bidders[1].auth });
  assert.deepEqual([r.json.me.role, r.json.me.signed_in, r.json.me.confirmed], ['bidder', true, true]);
}

test('each hall runs to a confirmed, signed record; bids become public', async () => {
  await runHall(T.A, { objection: true });
  await runHall(T.B, { objection: false });
  await runHall(T.C, { objection: false });
  // After the opening every bidder and staff see the bids with prices.
  for (const who of [bidders[1].auth, staff]) {
    const r = await srv.req('GET', `/api/v1/trade/tenders/${T.A.id}/bids`, { auth: who });
    assert.equal(r.json.public, true);
    assert.deepEqual(r.json.items.map((x) => x.price).sort(), [...T.A.prices].sort());
  }
  // OCDS right after the opening: the bids' statistics and details are published.
  const o = await srv.req('GET', `/api/v1/ocds/releases?tender=${T.A.id}`);
  assertValid(o.json, 'the release after the opening');
  const st = Object.fromEntries(o.json.releases[0].bids.statistics.map((s) => [s.measure, s.value]));
  assert.deepEqual([st.bids, st.bidders, o.json.releases[0].tender.numberOfTenderers], [4, 4, 4]);
  assert.equal(o.json.releases[0].bids.details.length, 4);
  // The deposits are visible to staff after the deadline (the screening uses them).
  const d = await srv.req('GET', `/api/v1/trade/tenders/${T.A.id}/deposits`, { auth: staff });
  assert.equal(d.json.count, 4);
});

// ---- 5. online evaluation, publicity, award, contract ----

test('experts are drawn avoiding a conflicted one; never see company names before the report', async () => {
  for (let i = 1; i <= 3; i++) {
    const login = `e2e_expert${i}`;
    await mkUser('expert', login, `评审专家${i}`);
    const r = await srv.req('POST', '/api/v1/trade/experts', {
      auth: staff, json: { name: `评审专家${i}`, specialties: ['works', 'procurement'], employer: '浙江海洋大学', user_login: login },
    });
    assert.equal(r.status, 201, r.text);
    experts.push({ login, id: r.json.id, name: `评审专家${i}`, auth: await srv.loginToken(login) });
  }
  // A fourth expert qualifies by specialty but declared a tie with bidder 1: always avoided.
  await mkUser('expert', 'e2e_expert_tied', '回避专家');
  let r = await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff, json: { name: '回避专家', specialties: ['works', 'procurement'], employer: '舟山大学', user_login: 'e2e_expert_tied' },
  });
  assert.equal(r.status, 201, r.text);
  const tiedId = r.json.id;
  r = await srv.req('POST', `/api/v1/trade/experts/${tiedId}/conflicts`, {
    auth: staff, json: { party: bidders[0].uscc, reason: '近三年曾任该公司技术顾问' },
  });
  assert.equal(r.status, 201, r.text);
  experts.push({ login: 'e2e_expert_tied', id: tiedId, name: '回避专家', tied: true, auth: await srv.loginToken('e2e_expert_tied') });

  for (const t of Object.values(T)) {
    const base = `/api/v1/trade/tenders/${t.id}`;
    assertError(await srv.req('POST', `${base}/experts/draw`, { auth: staff, json: { n: 5 } }), 409, 'conflict', 'n');
    r = await srv.req('POST', `${base}/experts/draw`, { auth: staff, json: { n: 3 } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual([r.json.sealed, r.json.count, r.json.items], [true, 3, undefined]);
    // The panel is sealed: staff see a count; each expert only itself; bidders nothing.
    r = await srv.req('GET', `${base}/experts`, { auth: staff });
    assert.ok(!r.text.includes('评审专家'));
    assertError(await srv.req('GET', `${base}/experts`, { auth: bidders[0].auth }), 403);
    for (const x of experts) {
      r = await srv.req('GET', `${base}/experts`, { auth: x.auth });
      const onPanel = r.status === 200 && Boolean(r.json.me);
      assert.equal(onPanel, !x.tied, `${x.name} on the panel of ${t.no}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    // The expert's view: 投标人A–D with prices only.
    for (const x of experts.filter((e) => !e.tied)) {
      r = await srv.req('GET', `${base}/evaluation`, { auth: x.auth });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.view, 'expert');
      assert.deepEqual(r.json.bids.map((b) => b.ref), t.skip === undefined ? ['A', 'B', 'C', 'D'] : ['A', 'B', 'C']);
      for (const b of bidders) {
        assert.ok(!r.text.includes(b.name), `expert sees ${b.name}`);
        assert.ok(!r.text.includes(b.uscc));
      }
      assert.ok(!/company|uscc|项目经理/.test(r.text), r.text.slice(0, 400));
      assertError(await srv.req('GET', `${base}/bids`, { auth: x.auth }), 403);
      assert.equal((await srv.req('GET', `${base}/evaluation/report`, { auth: x.auth })).status, 409,
        'no report before compute');
    }
    // refs → bidders by price (letters follow bid ids).
    const view = (await srv.req('GET', `${base}/evaluation`, { auth: experts[0].auth })).json;
    t.refOf = {};
    for (const b of view.bids) t.refOf[t.prices.indexOf(b.price)] = b.ref;
    assert.equal(Object.keys(t.refOf).length, t.skip === undefined ? 4 : 3);
  }
});

// Composite technical scores per expert and bidder (0..70).
const TECH = [[60, 68, 50, 55], [62, 66, 52, 55], [64, 67, 54, 55]];

test('experts score with each method; compute ranks as computed by hand; report', async () => {
  for (const t of Object.values(T)) {
    const base = `/api/v1/trade/tenders/${t.id}`;
    const members = experts.filter((x) => !x.tied);
    assertError(await srv.req('PUT', `${base}/scores`, {
      auth: bidders[0].auth, json: { scores: [{ bid_ref: 'A', pass: true }] },
    }), 403);
    for (let k = 0; k < members.length; k++) {
      const scores = bidders.map((_, i) => i).filter((i) => i !== t.skip).map((i) => (t.method === 'composite'
        ? { bid_ref: t.refOf[i], tech_score: TECH[k][i], comment: '技术方案完整' }
        // lowest_price: one expert of three fails bidder 3 — a minority, so it stays valid.
        : t.method === 'lowest_price' && k === 0 && i === 2
          ? { bid_ref: t.refOf[i], pass: false, reason: '业绩证明不完整' }
          : { bid_ref: t.refOf[i], pass: true }));
      let r = await srv.req('PUT', `${base}/scores`, { auth: members[k].auth, json: { scores } });
      assert.equal(r.status, 200, r.text);
      r = await srv.req('POST', `${base}/scores/submit`, { auth: members[k].auth });
      assert.equal(r.status, 200, r.text);
    }
    const r = await srv.req('POST', `${base}/evaluation/compute`, { auth: staff });
    assert.equal(r.status, 200, r.text);
    const rank = Object.fromEntries(r.json.results.map((x) => [x.ref, x.rank]));
    const prices = t.prices.map(Number);
    let expected; // bidder indexes, best first; invalid ones excluded
    if (t.method === 'lowest_price') {
      // Bidder 4 is above the budget (最高限价): invalid. The rest by price.
      expected = [1, 0, 2];
      const bad = r.json.results.find((x) => x.ref === t.refOf[3]);
      assert.equal(bad.valid, false);
      assert.match(bad.reason, /最高限价/);
    } else if (t.method === 'composite') {
      // 价格分 = 最低有效报价 / 报价 × 30; 技术分 = mean of the three experts.
      const low = Math.min(...prices);
      const total = prices.map((p, i) => round2(round2(low / p * 30)
        + round2((TECH[0][i] + TECH[1][i] + TECH[2][i]) / 3)));
      expected = [0, 1, 2, 3].sort((a, b) => total[b] - total[a]);
      for (const i of [0, 1, 2, 3]) {
        assert.equal(r.json.results.find((x) => x.ref === t.refOf[i]).total_score, total[i], `bidder ${i}`);
      }
      assert.deepEqual(expected, [1, 0, 2, 3]);
    } else {
      // 合理低价法: fewer than 5 valid bids (bidder 4's was not decrypted) → the plain
      // mean of the valid ones × the factor drawn at the opening.
      const valid = [0, 1, 2];
      const mean = valid.reduce((s, i) => s + prices[i], 0) / valid.length;
      const bench = mean * t.factor;
      expected = valid.sort((a, b) => Math.abs(prices[a] - bench) - Math.abs(prices[b] - bench));
      const nd = r.json.results.find((x) => x.company_name === bidders[3].name || x.uscc === bidders[3].uscc);
      assert.ok(!nd || nd.rank === null, JSON.stringify(nd));
      const rep = await srv.req('GET', `${base}/evaluation/report`, { auth: staff });
      assert.equal(rep.status, 200, rep.text);
      assert.ok(Math.abs(Number(rep.json.reference) - bench) <= 0.01, `${rep.json.reference} vs ${bench}`);
    }
    expected.forEach((i, n) => assert.equal(rank[t.refOf[i]], n + 1, `${t.no} bidder ${i}: ${JSON.stringify(r.json.results)}`));
    t.winner = expected[0];
    t.ranked = expected;
    // The report unseals the panel: the avoided expert is not on it.
    const p = await srv.req('GET', `${base}/experts`, { auth: staff });
    assert.equal(p.json.sealed, false);
    assert.deepEqual(p.json.items.map((x) => x.name).sort(), ['评审专家1', '评审专家2', '评审专家3']);
    const pdf = await srv.req('GET', `${base}/evaluation/report.pdf`, { auth: staff });
    assert.equal(pdf.status, 200);
    assert.ok(pdf.text.startsWith('%PDF'));
  }
});

test('publicity, an objection that blocks the award until answered, award with 节约率, contract', async () => {
  for (const t of Object.values(T)) {
    const base = `/api/v1/trade/tenders/${t.id}`;
    let r = await srv.req('POST', `${base}/publicize`, { auth: staff });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tender.status, 'publicity');
    r = await srv.req('GET', `${base}/evaluation`);
    assert.deepEqual(r.json.candidates.map((c) => c.company_name), t.ranked.slice(0, 3).map((i) => bidders[i].name));
    assertError(await srv.req('POST', `${base}/award`, { auth: staff }), 409, 'conflict', 'publicity_until');
  }
  // An objection against B's candidates by its last-ranked bidder.
  const loser = bidders[T.B.ranked[3]];
  let r = await srv.req('POST', `/api/v1/trade/tenders/${T.B.id}/objections`,
    { auth: loser.auth, json: { text: '第一中标候选人的同类业绩存疑，请复核。' } });
  assert.equal(r.status, 201, r.text);
  const oid = r.json.id;
  // Publicity lasts days: its end is moved into the past instead of waiting.
  for (const t of Object.values(T)) sql(`UPDATE tenders SET publicity_until = '2020-01-01T00:00:00Z' WHERE id = ${t.id}`);
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${T.B.id}/award`, { auth: staff }), 409, 'conflict', 'objections');
  r = await srv.req('GET', `/api/v1/trade/tenders/${T.B.id}/evaluation`, { auth: loser.auth });
  assert.equal(r.json.my_objections.length, 1);
  r = await srv.req('POST', `/api/v1/trade/tenders/${T.B.id}/objections/${oid}/reply`,
    { auth: staff, json: { reply: '经核查，业绩真实有效，维持评标结果。' } });
  assert.equal(r.status, 200, r.text);

  for (const t of Object.values(T)) {
    const base = `/api/v1/trade/tenders/${t.id}`;
    r = await srv.req('POST', `${base}/award`, { auth: staff });
    assert.equal(r.status, 200, r.text);
    const w = bidders[t.winner];
    const award = Number(t.prices[t.winner]);
    assert.equal(r.json.award.company_name, w.name);
    assert.equal(r.json.award.award, t.prices[t.winner]);
    t.award = award;
    // 节约率 = (budget − award) / budget
    assert.equal(r.json.award.savings_rate, round4((t.budget - award) / t.budget));
    r = await srv.req('POST', `${base}/contract`, { auth: staff, json: { contract_no: `HT-E2E-${t.key}` } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tender.status, 'contracted');
    r = await srv.req('GET', `/api/v1/trade/tenders/${t.id}`);
    assert.equal(r.json.status, 'contracted');
    assert.equal(r.json.award_company.uscc, w.uscc);
    assert.equal(r.json.savings_rate, round4((t.budget - award) / t.budget));
    const notices = (await srv.req('GET', `${base}/notices`)).json.items;
    for (const k of ['announcement', 'candidates', 'award']) assert.ok(notices.some((n) => n.kind === k), `${t.no} notice ${k}`);
    const pct = (100 * (t.budget - award) / t.budget).toFixed(2);
    assert.match(notices.find((n) => n.kind === 'award').body, new RegExp(`节约率 ${pct.replace('.', '\\.')}%`));
  }
  r = await srv.req('GET', '/api/v1/trade/results');
  assert.deepEqual(r.json.items.map((x) => x.tender_no).sort(), Object.values(T).map((t) => t.no).sort());
});

// ---- 6. OCDS and the trading indicators ----

function checkRelease(rel, t) {
  assert.ok(rel, `release of ${t.no}`);
  assert.ok(rel.tag.includes('contract'), JSON.stringify(rel.tag));
  assert.equal(rel.tender.numberOfTenderers, 4);
  const stat = Object.fromEntries(rel.bids.statistics.map((s) => [s.measure, s.value]));
  // A: bidder 4 above the budget; C: bidder 4 not decrypted.
  const validPrices = t.prices.map(Number).filter((_, i) => !(t.method === 'lowest_price' && i === 3) && i !== t.skip);
  assert.equal(stat.bids, 4);
  assert.equal(stat.validBids, validPrices.length);
  assert.equal(stat.lowestValidBidValue, Math.min(...validPrices));
  assert.equal(rel.bids.details.length, 4);
  assert.equal(rel.awards[0].value.amount, t.award);
  assert.equal(rel.awards[0].suppliers[0].id, `CN-USCC-${bidders[t.winner].uscc}`);
  assert.equal(rel.contracts[0].status !== undefined, true);
}

test('OCDS: the export and the endpoint validate and carry the bids after the opening', async () => {
  const file = path.join(tmp, 'ocds.json');
  const r = runIsle(['--db', srv.dbPath, 'export', 'ocds', '--out', file]);
  assert.equal(r.status, 0, r.stderr);
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  assertValid(pkg, 'isle export ocds');
  assert.equal(pkg.releases.length, 3);
  for (const t of Object.values(T)) checkRelease(releaseOf(pkg, t), t);
  const api = await srv.req('GET', '/api/v1/ocds/releases');
  assert.equal(api.status, 200);
  assertValid(api.json, 'GET /api/v1/ocds/releases');
  for (const t of Object.values(T)) checkRelease(releaseOf(api.json, t), t);
  // Company names only: no people (legal representatives, project managers, logins).
  assert.doesNotMatch(api.text, /法人|项目经理|e2e_/);
});

test('the trading indicators count this run, the CA mutual-recognition rate the foreign logins', async () => {
  const r = await srv.req('GET', '/api/v1/stats/trading');
  assert.equal(r.status, 200, r.text);
  const v = (id) => r.json.indicators[id].value;
  assert.equal(v('trade.projects'), 3);
  assert.equal(r.json.counts.awarded, 3);
  assert.equal(r.json.counts.openings, 3);
  assert.equal(v('trade.remote_openings'), 3);
  assert.equal(v('trade.remote_rate'), 100);
  assert.equal(v('trade.max_bidders'), 4);
  const budget = Object.values(T).reduce((s, t) => s + t.budget, 0);
  const award = Object.values(T).reduce((s, t) => s + t.award, 0);
  assert.equal(v('trade.amount'), round2(award / 1e8));
  assert.equal(v('trade.savings_rate'), round2(100 * (budget - award) / budget));
  // Three of the four certificate logins came from CAs other than the home CA.
  assert.equal(v('trade.ca_rate'), 75);
  assert.equal(r.json.counts.logins, 4);
  const works = r.json.by_kind.find((k) => k.kind === 'works');
  const proc = r.json.by_kind.find((k) => k.kind === 'procurement');
  assert.deepEqual([works.projects, works.awarded, proc.projects, proc.awarded], [2, 2, 1, 1]);
});

test('every step left its audit row', () => {
  const actions = new Set(sql('SELECT DISTINCT action FROM audit_log').split('\n'));
  for (const a of ['ca.root_add', 'company.register', 'trade_cert.register', 'ca.login', 'backup_key.create',
    'tender.create', 'deposit.pay', 'bid.submit', 'opening.start', 'opening.signin', 'opening.reveal',
    'bid.reveal', 'opening.object', 'opening.reply', 'opening.confirm', 'opening.close', 'expert.conflict',
    'evaluate.draw', 'evaluate.submit', 'evaluate.compute', 'evaluate.publicize', 'evaluate.objection',
    'evaluate.objection_reply', 'evaluate.award', 'evaluate.contract']) {
    assert.ok(actions.has(a), `audit ${a}`);
  }
  // Sealed bids: the audit row of a submission names no price.
  for (const d of sql("SELECT COALESCE(after_json, '') FROM audit_log WHERE action = 'bid.submit'").split('\n')) {
    for (const t of Object.values(T)) for (const p of t.prices) assert.ok(!d.includes(p), d);
  }
});
