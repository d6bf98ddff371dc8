// Proofs (证明事项协同): a resident's request goes village → town → district, is
// issued as a signed PDF with a QR code, and is verified by number, by QR text,
// by the CLI (PDF or text) and offline with openssl alone; tampering says which
// field; revocation shows in the public list and in every verification;
// ownership (another citizen gets 404) and bad input (400 naming the field).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { dbQuery, errorOf, idCheckDigit, isPg, runIsle, startServer, uniq } from './server.mjs';

const TOWN = '330902100'; // 金塘镇, the demo citizen's town
const VILLAGE = '330902100002'; // 沥港社区
let srv;
const tok = {};
let filesDir;

async function makeUser(role, town, name) {
  const login = `${role.slice(0, 4)}${uniq()}`.slice(0, 30);
  const json = { login, password: 'Proofs@2026', role, display_name: name };
  if (town) json.town_code = town;
  if (role === 'citizen') {
    const id17 = `33090219880512${String(Math.floor(Math.random() * 1e3)).padStart(3, '0')}`;
    json.id_number = id17 + idCheckDigit(id17);
  }
  const r = await srv.req('POST', '/api/v1/users', { token: tok.admin.token, json });
  assert.equal(r.status, 201, r.text);
  return srv.loginToken(login, 'Proofs@2026');
}

before(async () => {
  srv = await startServer();
  filesDir = isPg ? path.join(srv.dir, 'files') : `${srv.dbPath}-files`;
  for (const l of ['citizen', 'staff', 'approver', 'admin']) tok[l] = await srv.loginToken(l);
  tok.village = await makeUser('staff', TOWN, '金塘村务核查员');
  tok.town = await makeUser('staff', TOWN, '金塘镇便民服务中心');
  tok.other = await makeUser('citizen', TOWN, '李四');
});
after(async () => { await srv?.stop(); });

const as = (who) => (tok[who] || who).token;
const get = (who, p, headers) => srv.req('GET', p, { token: who ? as(who) : undefined, headers });
const post = (who, p, json) => srv.req('POST', p, { token: who ? as(who) : undefined, json });

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field, `field of ${JSON.stringify(e)}`);
  return e;
}

const request = (json) => post('citizen', '/api/v1/proofs', json);
const act = (who, id, action, json = {}) => post(who, `/api/v1/proofs/${id}/actions/${action}`, json);

/** A proof taken through every step to issued; returns the proof JSON. */
async function issuedProof(extra = {}) {
  const r = await request({ kind: 'residence', purpose: '办理银行开户', details: '本人自2015年3月起居住在沥港社区沥港路12号。', village_code: VILLAGE, ...extra });
  assert.equal(r.status, 201, r.text);
  const id = r.json.proof.id;
  assert.equal((await act('village', id, 'check_village', { note: '入户核实' })).status, 200);
  assert.equal((await act('town', id, 'check_town')).status, 200);
  const i = await act('approver', id, 'issue', { note: '同意' });
  assert.equal(i.status, 200, i.text);
  return i.json.proof;
}

function isle(args, input) {
  const extra = args[0] === 'proof' && ['pubkey', 'keygen'].includes(args[1]) ? ['--files-dir', filesDir] : [];
  return runIsle(['--db', srv.dbPath, ...args, ...extra], { input });
}

test('kinds are the catalog 证明 items, public', async () => {
  const r = await get(null, '/api/v1/proofs/kinds');
  assert.equal(r.status, 200, r.text);
  const res = r.json.items.find((k) => k.kind === 'residence');
  assert.equal(res.item_code, '330902-XZ-700035');
  assert.equal(res.item_name, '居住情况证明开具');
  for (const k of ['kinship', 'no_criminal_record', 'no_property']) {
    assert.ok(r.json.items.some((i) => i.kind === k && i.item_name), k);
  }
});

test('bad input is 400 naming the field; only citizens request', async () => {
  const good = { kind: 'residence', purpose: '办理银行开户', details: '居住情况', village_code: VILLAGE };
  assertError(await request({ ...good, purpose: undefined }), 400, 'invalid_argument', 'purpose');
  assertError(await request({ ...good, purpose: '  ' }), 400, 'invalid_argument', 'purpose');
  assertError(await request({ ...good, kind: 'passport' }), 400, 'invalid_argument', 'kind');
  assertError(await request({ ...good, kind: undefined }), 400, 'invalid_argument', 'kind');
  assertError(await request({ ...good, kind: undefined, item_code: '330900-GA-100001' }), 400, 'invalid_argument', 'item_code');
  assertError(await request({ ...good, village_code: '330902100999' }), 400, 'invalid_argument', 'village_code');
  assertError(await request({ ...good, village_code: 'jintang' }), 400, 'invalid_argument', 'village_code');
  assertError(await request({ ...good, details: 'a\u0007b' }), 400, 'invalid_argument', 'details');
  assertError(await request({ ...good, details: 'x'.repeat(2000) }), 400, 'invalid_argument', 'details');
  assertError(await request({ ...good, extra: 1 }), 400, 'invalid_argument', 'extra');
  assertError(await post('staff', '/api/v1/proofs', good), 403, 'permission_denied');
  assertError(await post(null, '/api/v1/proofs', good), 401);
  // By catalog item instead of kind.
  const byItem = await request({ item_code: '330902-XZ-700048', purpose: '继承公证', details: '申请人与张大伯为父子关系。' });
  assert.equal(byItem.status, 201, byItem.text);
  assert.equal(byItem.json.proof.kind, 'kinship');
  assert.equal(byItem.json.proof.town_code, TOWN, 'no village: the holder\'s own town');
});

test('request → village → town → district, each step by its own people, then the PDF', async () => {
  const r = await request({ kind: 'residence', purpose: '办理银行开户', details: '本人自2015年3月起居住在沥港社区。', village_code: VILLAGE });
  assert.equal(r.status, 201, r.text);
  const p = r.json.proof;
  assert.match(p.proof_no, /^ZM[0-9A-HJKMNP-TV-Z]{12}$/);
  assert.equal(p.status, 'requested');
  assert.equal(p.holder_masked, '张*婆 3309**********0021');
  assert.equal(p.steps.length, 1);
  const id = p.id;

  // Ownership: another citizen, and staff of another town, do not see it.
  assertError(await get('other', `/api/v1/proofs/${id}`), 404, 'not_found');
  assertError(await get('staff', `/api/v1/proofs/${id}`), 404, 'not_found');
  assertError(await act('staff', id, 'check_village'), 404, 'not_found');
  const mine = await get('other', '/api/v1/proofs?mine=1');
  assert.ok(!mine.json.items.some((x) => x.id === id));
  assert.ok((await get('citizen', '/api/v1/proofs?mine=1')).json.items.some((x) => x.id === id));
  const queue = await get('village', '/api/v1/proofs?status=requested');
  assert.equal(queue.status, 200, queue.text);
  assert.ok(queue.json.items.some((x) => x.id === id), 'in the town staff queue');
  assert.ok(!(await get('staff', '/api/v1/proofs')).json.items.some((x) => x.id === id));
  assertError(await get('village', '/api/v1/proofs?status=lost'), 400, 'invalid_argument', 'status');

  // Order and roles.
  assertError(await act('town', id, 'check_town'), 409, 'conflict', 'status');
  assertError(await act('approver', id, 'check_village'), 403, 'permission_denied');
  assertError(await act('citizen', id, 'check_village'), 403);
  assertError(await act('village', id, 'approve'), 404, 'not_found', 'action');
  assertError(await get('citizen', `/api/v1/proofs/${id}/pdf`), 409, 'conflict');

  let s = await act('village', id, 'check_village', { note: '入户核实，属实' });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.proof.status, 'village_checked');
  assertError(await act('village', id, 'check_town'), 403, 'permission_denied');
  s = await act('town', id, 'check_town');
  assert.equal(s.json.proof.status, 'town_checked');
  assertError(await act('town', id, 'issue'), 403, 'permission_denied');
  assertError(await act('approver', id, 'issue', { valid_until: '2020-01-01' }), 400, 'invalid_argument', 'valid_until');
  s = await act('approver', id, 'issue', { note: '同意签发' });
  assert.equal(s.status, 200, s.text);
  const q = s.json.proof;
  assert.equal(q.status, 'issued');
  assert.deepEqual(q.steps.map((x) => x.action), ['request', 'check_village', 'check_town', 'issue']);
  assert.equal(q.steps[1].note, '入户核实，属实');
  assert.match(q.valid_until, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(q.key_id, /^[0-9a-f]{16}$/);
  assert.match(q.statement, /兹证明张阿婆（公民身份号码：330902195203140021）/);
  assert.match(q.statement, /本证明仅用于办理银行开户。/);
  assert.equal(q.verify_path, `/verify/${q.proof_no}`);
  const [line1, line2] = q.qr_text.split('\n');
  assert.equal(line2, q.verify_path);
  assert.equal(line1.split('|').length, 10);
  assert.ok(line1.startsWith(`ISLEPROOF1|${q.proof_no}|residence|张*婆 3309**********0021|`));
  assertError(await act('approver', id, 'issue'), 409, 'conflict', 'status');

  // The PDF: holder and staff download it, another citizen cannot.
  const pdf = await fetch(`${srv.base}/api/v1/proofs/${id}/pdf`, { headers: { Authorization: `Bearer ${as('citizen')}` } });
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers.get('content-type'), 'application/pdf');
  assert.match(pdf.headers.get('content-disposition'), /proof-ZM/);
  const bytes = Buffer.from(await pdf.arrayBuffer());
  assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
  assert.ok(bytes.length > 10000, 'the font is embedded');
  assert.ok(bytes.includes('ISLEPROOF-QR:'), 'the QR text is findable in the file');
  assert.equal((await get('town', `/api/v1/proofs/${id}/pdf`)).status, 200);
  assertError(await get('other', `/api/v1/proofs/${id}/pdf`), 404, 'not_found');

  // The resident was told at every step; the issue went by SMS too.
  const inbox = await get('citizen', '/api/v1/me/notifications?limit=50');
  const texts = inbox.json.items.filter((n) => n.template === 'proof_status' && n.body.includes(q.proof_no));
  assert.equal(texts.length, 4, JSON.stringify(texts));
  assert.ok(texts.some((n) => n.body.includes('已签发')));
  // Every step audited.
  const audited = dbQuery(srv.dbPath, `SELECT action FROM audit_log WHERE object_type = 'proof' AND object_id = '${id}' ORDER BY id`);
  assert.deepEqual(audited.split('\n'), ['proof.request', 'proof.check_village', 'proof.check_town', 'proof.issue']);
  const fileAudit = dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE action = 'file.upload' AND object_id = '${q.file_id}'`);
  assert.equal(fileAudit, '1');
});

test('verify by number and by QR text; tampering says what is wrong', async () => {
  const q = await issuedProof();
  const v = await get(null, `/verify/${q.proof_no}`);
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.valid, true);
  assert.equal(v.json.status, 'valid');
  assert.equal(v.json.proof.holder, '张*婆 3309**********0021');
  assert.equal(v.json.proof.title, '居住情况证明');
  assert.ok(!v.text.includes('张阿婆') && !v.text.includes('330902195203140021'), 'no personal data');
  const page = await get(null, `/verify/${q.proof_no}`, { Accept: 'text/html,application/xhtml+xml' });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(page.text, /data-status="valid"/);
  assert.match(page.text, /有效/);
  const missing = await get(null, '/verify/ZM0000000000AB');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.status, 'not_found');
  assert.equal(errorOf(missing).code, 'not_found');

  const check = async (qr) => {
    const r = await post(null, '/api/v1/proofs/verify', { qr });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  assert.equal((await check(q.qr_text)).status, 'valid');
  assert.equal((await check(q.qr_text.split('\n')[0])).status, 'valid', 'the URL line is optional');
  const fields = q.qr_text.split('\n')[0].split('|');
  const withField = (i, value) => { const f = [...fields]; f[i] = value; return f.join('|'); };
  let r = await check(withField(3, '王*婆 3309**********0021'));
  assert.deepEqual([r.valid, r.status, r.field], [false, 'altered', 'holder']);
  r = await check(withField(6, '2099-12-31'));
  assert.deepEqual([r.status, r.field], ['altered', 'valid_until']);
  r = await check(withField(4, '舟山市公安局'));
  assert.deepEqual([r.status, r.field], ['altered', 'issuer']);
  const sig = fields[9];
  r = await check(withField(9, (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)));
  assert.equal(r.status, 'bad_signature');
  r = await check(withField(1, 'ZM0000000000AB'));
  assert.equal(r.status, 'bad_signature', 'an invented number with a copied signature');
  r = await check(withField(8, '0123456789abcdef'));
  assert.deepEqual([r.status, r.field], ['altered', 'key_id']);
  r = await check('hello');
  assert.equal(r.status, 'malformed');
  assertError(await post(null, '/api/v1/proofs/verify', {}), 400, 'invalid_argument', 'qr');
  assertError(await post(null, '/api/v1/proofs/verify', { qr: 'x'.repeat(5000) }), 400, 'invalid_argument', 'qr');
});

test('isle proof verify: a PDF and a QR text, exit 0 when valid, 1 with the reason', async () => {
  const q = await issuedProof();
  const pdf = await fetch(`${srv.base}/api/v1/proofs/${q.id}/pdf`, { headers: { Authorization: `Bearer ${as('citizen')}` } });
  const file = path.join(srv.dir, 'proof.pdf');
  fs.writeFileSync(file, Buffer.from(await pdf.arrayBuffer()));
  let c = isle(['proof', 'verify', file]);
  assert.equal(c.status, 0, c.stdout + c.stderr);
  assert.match(c.stdout, /^VALID: 居住情况证明 ZM/);
  c = isle(['proof', 'verify', q.qr_text]);
  assert.equal(c.status, 0, c.stdout + c.stderr);
  c = isle(['proof', 'verify', '--json', '-'], q.qr_text);
  assert.equal(c.status, 0, c.stdout + c.stderr);
  assert.equal(JSON.parse(c.stdout).status, 'valid');
  const tampered = q.qr_text.replace('|residence|', '|kinship|');
  c = isle(['proof', 'verify', tampered]);
  assert.equal(c.status, 1);
  assert.match(c.stdout, /INVALID \(altered: kind\)/);
  // A PDF whose embedded text was altered (same length, one character).
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf('ISLEPROOF-QR:') + 'ISLEPROOF-QR:'.length + 40;
  bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
  fs.writeFileSync(file, bytes);
  c = isle(['proof', 'verify', file]);
  assert.equal(c.status, 1, c.stdout);
  assert.match(c.stdout, /INVALID \((altered|bad_signature|malformed)/);
  c = isle(['proof', 'verify', 'not a proof']);
  assert.equal(c.status, 1);
  assert.match(c.stdout, /INVALID \(malformed/);
});

test('offline: openssl alone verifies the signature with the published key', async (t) => {
  if (spawnSync('openssl', ['version']).status !== 0) { t.skip('openssl not installed'); return; }
  const q = await issuedProof();
  const pub = isle(['proof', 'pubkey', '--pem']);
  assert.equal(pub.status, 0, pub.stderr);
  assert.match(pub.stdout, /^-----BEGIN PUBLIC KEY-----\n/);
  const fromDb = isle(['proof', 'pubkey', '--pem', '--key-id', q.key_id]);
  assert.equal(fromDb.stdout, pub.stdout, 'the file and the published key agree');
  const keys = await get(null, '/api/v1/proofs/keys');
  assert.ok(keys.json.items.some((k) => k.key_id === q.key_id && k.pem === pub.stdout));
  const dir = srv.dir;
  fs.writeFileSync(path.join(dir, 'pub.pem'), pub.stdout);
  // The commands of docs/PROOFS.md.
  const line = q.qr_text.split('\n')[0];
  const payload = line.slice(0, line.lastIndexOf('|'));
  const sig = line.slice(line.lastIndexOf('|') + 1);
  fs.writeFileSync(path.join(dir, 'payload.txt'), payload);
  const sh = (cmd) => spawnSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8' });
  let r = sh(`printf '%s' '${sig}' | tr '_-' '/+' | sed 's/$/==/' | base64 -d > sig.bin`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.statSync(path.join(dir, 'sig.bin')).size, 64);
  r = sh('openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in payload.txt -sigfile sig.bin');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Signature Verified Successfully/);
  fs.writeFileSync(path.join(dir, 'payload.txt'), payload.replace('|residence|', '|kinship|'));
  r = sh('openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in payload.txt -sigfile sig.bin');
  assert.notEqual(r.status, 0, 'an altered payload fails');
  // The isle CLI offline, with the PEM only.
  const off = isle(['proof', 'verify', '--pubkey', path.join(dir, 'pub.pem'), q.qr_text]);
  assert.equal(off.status, 0, off.stdout + off.stderr);
});

test('revocation: staff with a reason, audited, public list, every verification says revoked', async () => {
  const q = await issuedProof();
  assertError(await post('citizen', `/api/v1/proofs/${q.id}/revoke`, { reason: 'x' }), 403);
  assertError(await post('staff', `/api/v1/proofs/${q.id}/revoke`, { reason: 'x' }), 404);
  assertError(await post('town', `/api/v1/proofs/${q.id}/revoke`, {}), 400, 'invalid_argument', 'reason');
  const r = await post('town', `/api/v1/proofs/${q.id}/revoke`, { reason: '持有人已迁出' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.proof.status, 'revoked');
  assert.equal(r.json.proof.revoke_reason, '持有人已迁出');
  assertError(await post('town', `/api/v1/proofs/${q.id}/revoke`, { reason: 'again' }), 409, 'conflict');

  const list = await get(null, '/api/v1/proofs/revoked');
  assert.equal(list.status, 200);
  const entry = list.json.items.find((x) => x.proof_no === q.proof_no);
  assert.ok(entry && /^\d{4}-\d{2}-\d{2}T/.test(entry.revoked_at));
  assert.deepEqual(Object.keys(entry).sort(), ['proof_no', 'revoked_at'], 'numbers and dates only');

  const v = await get(null, `/verify/${q.proof_no}`);
  assert.deepEqual([v.status, v.json.valid, v.json.status], [200, false, 'revoked']);
  assert.ok(!v.text.includes('迁出'), 'the reason stays private');
  const byQr = await post(null, '/api/v1/proofs/verify', { qr: q.qr_text });
  assert.equal(byQr.json.status, 'revoked');
  const c = isle(['proof', 'verify', q.qr_text]);
  assert.equal(c.status, 1);
  assert.match(c.stdout, /INVALID \(revoked\)/);
  assert.equal(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE action = 'proof.revoke' AND object_id = '${q.id}'`), '1');
  const inbox = await get('citizen', '/api/v1/me/notifications?limit=100');
  assert.ok(inbox.json.items.some((n) => n.body.includes(q.proof_no) && n.body.includes('吊销')));
});

test('refusal needs a reason and ends the request', async () => {
  const r = await request({ kind: 'no_property', purpose: '申请公租房', details: '本人在舟山市无自有住房。', village_code: VILLAGE });
  const id = r.json.proof.id;
  assertError(await act('village', id, 'refuse', {}), 400, 'invalid_argument', 'reason');
  assertError(await act('village', id, 'refuse', { note: 'x' }), 400, 'invalid_argument', 'reason');
  const s = await act('village', id, 'refuse', { reason: '经核查，申请人名下有房产' });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.proof.status, 'refused');
  assertError(await act('town', id, 'check_town'), 409, 'conflict', 'status');
  assertError(await get(null, `/verify/${s.json.proof.proof_no}`), 404, 'not_found');
});
