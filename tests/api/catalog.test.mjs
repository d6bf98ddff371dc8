// The service catalog: items, bundles, departments and licences (public), staff edits
// with versions and audit, Open311 GeoReport v2, and `isle import/export catalog`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, errorOf, makeTempDir, newDb, runIsle, runIsleOk, sqlite, startServer } from './server.mjs';

const BIRTH = '330900-GA-100001'; // 出生登记, in bundle YJS-002
const SHIPPED = path.join(ROOT, 'data', 'catalog');

let srv;
let tmp;
before(async () => {
  srv = await startServer();
  tmp = makeTempDir('isle-catalog-');
});
after(async () => {
  await srv?.stop();
  if (tmp && !process.env.ISLE_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field, `field of ${JSON.stringify(e)}`);
  assert.match(e.message, /[\u4e00-\u9fff]/, 'the message is in Chinese');
  return e;
}

const q = (s) => encodeURIComponent(s);

/** The item as PUT wants it: GET's answer without what GET adds. */
async function editable(code) {
  const r = await srv.req('GET', `/api/v1/items/${code}`);
  assert.equal(r.status, 200, r.text);
  const it = r.json;
  for (const k of ['version', 'updated_at', 'popularity', 'bundles']) delete it[k];
  for (const m of it.materials) {
    delete m.licence_issuer;
    delete m.licence_trust_level;
  }
  return it;
}

test('GET /api/v1/items lists 370 items with summaries, paged', async () => {
  const r = await srv.req('GET', '/api/v1/items');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.total, 370);
  assert.equal(r.json.items.length, 50, 'default limit 50');
  const it = r.json.items[0];
  for (const k of ['code', 'name', 'type', 'department', 'level', 'area_code', 'legal_days', 'promise_days',
    'fee', 'online_depth', 'visits', 'commitment', 'instant', 'scope', 'version', 'popularity']) {
    assert.ok(k in it, `summary has ${k}`);
  }
  assert.ok(Array.isArray(it.scope));
  assert.equal(typeof it.commitment, 'boolean');
  const codes = r.json.items.map((x) => x.code);
  assert.deepEqual(codes, [...codes].sort(), 'ordered by code');
  const p2 = await srv.req('GET', '/api/v1/items?limit=50&offset=50');
  assert.ok(p2.json.items.every((x) => !codes.includes(x.code)), 'pages do not overlap');
  const big = await srv.req('GET', '/api/v1/items?limit=200');
  assert.equal(big.json.items.length, 200);
});

test('item list filters: department, type, area and their combination', async () => {
  const d = await srv.req('GET', `/api/v1/items?department=${q('舟山市公安局')}&limit=200`);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.total, 47);
  assert.ok(d.json.items.every((x) => x.department === '舟山市公安局'));
  const t = await srv.req('GET', `/api/v1/items?type=${q('行政许可')}&limit=200`);
  assert.equal(t.json.total, 136);
  assert.ok(t.json.items.every((x) => x.type === '行政许可'));
  const a = await srv.req('GET', '/api/v1/items?area=330922&limit=200');
  assert.equal(a.json.total, 36);
  assert.ok(a.json.items.every((x) => x.area_code === '330922' && x.code.startsWith('330922-')));
  const both = await srv.req('GET', `/api/v1/items?type=${q('公共服务')}&area=330900&limit=200`);
  assert.ok(both.json.total > 0 && both.json.total < 110);
  assert.ok(both.json.items.every((x) => x.type === '公共服务' && x.area_code === '330900'));
  const none = await srv.req('GET', `/api/v1/items?department=${q('不存在的部门')}`);
  assert.equal(none.json.total, 0);
  assert.deepEqual(none.json.items, []);
  assertError(await srv.req('GET', `/api/v1/items?type=${q('行政审批')}`), 400, 'invalid_argument', 'type');
  assertError(await srv.req('GET', '/api/v1/items?area=330901'), 400, 'invalid_argument', 'area');
  assertError(await srv.req('GET', `/api/v1/items?department=${'x'.repeat(200)}`), 400, 'invalid_argument', 'department');
  assert.equal((await srv.req('GET', '/api/v1/items?limit=abc')).status, 400);
});

test('GET /api/v1/items/{code}: the whole guide with version, bundles and licence details', async () => {
  const r = await srv.req('GET', `/api/v1/items/${BIRTH}`);
  assert.equal(r.status, 200, r.text);
  const it = r.json;
  assert.equal(it.code, BIRTH);
  assert.equal(it.name, '出生登记');
  assert.equal(it.version, 1);
  assert.match(it.updated_at, /^\d{4}-\d\d-\d\dT/);
  for (const k of ['handle_at', 'conditions', 'process', 'basis', 'place', 'hours', 'phone', 'result', 'keywords', 'faq']) {
    assert.ok(k in it, `item has ${k}`);
  }
  assert.deepEqual(it.bundles, [{ code: 'YJS-002', name: '新生儿出生一件事' }]);
  const withLicence = it.materials.filter((m) => m.licence);
  assert.ok(withLicence.length > 0);
  for (const m of withLicence) {
    assert.equal(typeof m.licence_issuer, 'string', `${m.name} has its issuer`);
    assert.ok(['A', 'B'].includes(m.licence_trust_level));
  }
  assert.ok(it.materials.filter((m) => !m.licence).every((m) => !('licence_issuer' in m)));
  assertError(await srv.req('GET', '/api/v1/items/330900-GA-999999'), 404, 'not_found');
  assertError(await srv.req('GET', `/api/v1/items/${q("1' OR '1'='1")}`), 404, 'not_found');
});

test('bundles, departments and licences', async () => {
  const b = await srv.req('GET', '/api/v1/bundles');
  assert.equal(b.status, 200);
  assert.equal(b.json.items.length, 15);
  assert.ok(b.json.items.every((x) => x.code && x.name && Array.isArray(x.items) && typeof x.parallel === 'boolean'));
  const one = await srv.req('GET', '/api/v1/bundles/YJS-002');
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.name, '新生儿出生一件事');
  assert.ok(one.json.items.some((x) => x.code === BIRTH && x.name === '出生登记'), 'items are expanded with names');
  assertError(await srv.req('GET', '/api/v1/bundles/YJS-999'), 404, 'not_found');
  const d = await srv.req('GET', '/api/v1/departments');
  assert.equal(d.status, 200);
  assert.equal(d.json.items.reduce((n, x) => n + x.count, 0), 370);
  assert.deepEqual(d.json.items[0], { department: '舟山市公安局', count: 47 });
  const l = await srv.req('GET', '/api/v1/licences');
  assert.equal(l.status, 200);
  assert.equal(l.json.items.length, 50);
  assert.ok(l.json.items.every((x) => x.type && x.issuer && ['A', 'B'].includes(x.trust_level)));
});

test('PUT /api/v1/items/{code} as staff (cookie + CSRF) bumps the version and is audited', async () => {
  const staff = await srv.login('staff');
  const it = await editable(BIRTH);
  it.fee = '不收费（API 测试）';
  it.materials[4].copies = 2;
  // without the CSRF token a cookie session may not write
  assert.equal((await srv.req('PUT', `/api/v1/items/${BIRTH}`, { auth: staff, noCsrf: true, json: it })).status, 403);
  const r = await srv.req('PUT', `/api/v1/items/${BIRTH}`, { auth: staff, json: it });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 2);
  assert.equal(r.json.fee, '不收费（API 测试）');
  assert.equal(r.json.materials[4].copies, 2);
  assert.deepEqual(r.json.bundles, [{ code: 'YJS-002', name: '新生儿出生一件事' }], 'the answer is the full item');
  const again = await srv.req('GET', `/api/v1/items/${BIRTH}`);
  assert.equal(again.json.version, 2);
  assert.equal(again.json.fee, '不收费（API 测试）');

  const v = await srv.req('GET', `/api/v1/items/${BIRTH}/versions`, { auth: staff });
  assert.equal(v.status, 200, v.text);
  assert.deepEqual(v.json.items.map((x) => x.version), [2, 1]);
  assert.equal(v.json.items[0].changed_by, 'staff');
  assert.equal(v.json.items[0].item.fee, '不收费（API 测试）');
  assert.equal(v.json.items[1].item.fee, '不收费');

  const admin = await srv.loginToken('admin');
  const a = await srv.req('GET', `/api/v1/audit?action=catalog.item.update&object_id=${BIRTH}`, { auth: admin });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.items.length, 1);
  const row = a.json.items[0];
  assert.equal(row.actor_login, 'staff');
  const before = typeof row.before === 'string' ? JSON.parse(row.before) : row.before;
  const afterDoc = typeof row.after === 'string' ? JSON.parse(row.after) : row.after;
  assert.equal(before.fee, '不收费');
  assert.equal(afterDoc.fee, '不收费（API 测试）');
  assert.equal(afterDoc.version, 2);
  const verify = await srv.req('GET', '/api/v1/audit/verify', { auth: admin });
  assert.equal(verify.json.ok, true, 'the audit chain is intact');

  // A fetched item may be sent back whole; its stale "version" is a conflict.
  const fetched = (await srv.req('GET', `/api/v1/items/${BIRTH}`)).json;
  fetched.version = 1;
  fetched.hours = '工作日上午8:30-12:00';
  assertError(await srv.req('PUT', `/api/v1/items/${BIRTH}`, { auth: staff, json: fetched }), 409, 'conflict', 'version');
  fetched.version = 2;
  const ok = await srv.req('PUT', `/api/v1/items/${BIRTH}`, { auth: staff, json: fetched });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.version, 3);
  // the same content again changes nothing
  const same = await srv.req('PUT', `/api/v1/items/${BIRTH}`, { auth: staff, json: ok.json });
  assert.equal(same.status, 200, same.text);
  assert.equal(same.json.version, 3);
});

test('PUT refuses citizens, anonymous callers, bad items (naming the field) and unknown codes', async () => {
  const code = '330900-GA-100002';
  const it = await editable(code);
  const citizen = await srv.login('citizen');
  assertError(await srv.req('PUT', `/api/v1/items/${code}`, { auth: citizen, json: it }), 403, 'permission_denied');
  assert.equal((await srv.req('PUT', `/api/v1/items/${code}`, { json: it })).status, 401);
  assertError(await srv.req('GET', `/api/v1/items/${code}/versions`, { auth: citizen }), 403, 'permission_denied');

  const approver = await srv.loginToken('approver');
  const put = (body, c = code) => srv.req('PUT', `/api/v1/items/${c}`, { auth: approver, json: body });
  const bad = (mutate) => {
    const x = structuredClone(it);
    mutate(x);
    return put(x);
  };
  assertError(await bad((x) => { x.materials[1].form = '扫描件'; }), 400, 'invalid_argument', 'materials[1].form');
  assertError(await bad((x) => { x.online_depth = 7; }), 400, 'invalid_argument', 'online_depth');
  assertError(await bad((x) => { x.type = '行政审批'; }), 400, 'invalid_argument', 'type');
  assertError(await bad((x) => { x.handle_at = ['火星']; }), 400, 'invalid_argument', 'handle_at[0]');
  assertError(await bad((x) => { x.legal_days = '20'; }), 400, 'invalid_argument', 'legal_days');
  assertError(await bad((x) => { x.name = ''; }), 400, 'invalid_argument', 'name');
  assertError(await bad((x) => { x.colour = 'blue'; }), 400, 'invalid_argument', 'colour');
  assertError(await bad((x) => { delete x.faq; }), 400, 'invalid_argument', 'faq');
  assertError(await bad((x) => { x.materials[0].licence = '宇宙通行证'; }), 400, 'invalid_argument', 'materials[0].licence');
  assertError(await bad((x) => { x.code = BIRTH; }), 400, 'invalid_argument', 'code');
  assert.equal((await srv.req('PUT', `/api/v1/items/${code}`, { auth: approver, body: '{"name":', headers: { 'Content-Type': 'application/json' } })).status, 400);
  const ghost = { ...it, code: '330900-GA-999999' };
  assertError(await put(ghost, '330900-GA-999999'), 404, 'not_found');
  const after = await srv.req('GET', `/api/v1/items/${code}`);
  assert.equal(after.json.version, 1, 'failed edits change nothing');
});

test('Open311 GeoReport v2: services.json lists every item', async () => {
  const r = await srv.req('GET', '/open311/v2/services.json');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.ok(Array.isArray(r.json));
  assert.equal(r.json.length, 370);
  for (const s of r.json) {
    assert.deepEqual(Object.keys(s), ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group']);
    assert.equal(s.type, 'realtime');
    assert.equal(typeof s.metadata, 'boolean');
    assert.equal(typeof s.keywords, 'string');
    assert.ok(s.service_name.length > 0 && s.group.length > 0);
  }
  const birth = r.json.find((s) => s.service_code === BIRTH);
  assert.equal(birth.service_name, '出生登记');
  assert.equal(birth.group, '舟山市公安局');
  assert.ok(birth.keywords.split(',').includes('出生登记'));
  assert.equal(birth.metadata, true, 'a service definition with attributes exists');
});

test('Open311 service definition shape and Open311 errors', async () => {
  const item = (await srv.req('GET', `/api/v1/items/${BIRTH}`)).json;
  const r = await srv.req('GET', `/open311/v2/services/${BIRTH}.json`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json), ['service_code', 'attributes']);
  assert.equal(r.json.service_code, BIRTH);
  const attrs = r.json.attributes;
  assert.equal(attrs.length, item.materials.length + 1, 'conditions + one per material');
  attrs.forEach((a, i) => {
    assert.deepEqual(Object.keys(a).sort(), ['code', 'datatype', 'datatype_description', 'description', 'order', 'required', 'variable']);
    assert.equal(a.order, i + 1);
    assert.ok(['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'].includes(a.datatype));
    assert.equal(typeof a.variable, 'boolean');
    assert.equal(typeof a.required, 'boolean');
  });
  assert.equal(attrs[0].code, 'conditions');
  assert.equal(attrs[0].variable, false);
  assert.equal(attrs[0].description, item.conditions);
  assert.equal(attrs[1].description, item.materials[0].name);
  assert.equal(attrs[1].required, item.materials[0].required);
  for (const p of ['/open311/v2/services/330900-GA-999999.json', `/open311/v2/services/${BIRTH}.xml`, '/open311/v2/services/nothing']) {
    const e = await srv.req('GET', p);
    assert.equal(e.status, 404, p);
    assert.ok(Array.isArray(e.json), `${p}: Open311 error array`);
    assert.equal(e.json[0].code, 404);
    assert.equal(typeof e.json[0].description, 'string');
  }
});

// ---- the command line ----

function freshDb(name) {
  const db = newDb(tmp, name);
  runIsleOk(['--db', db, 'init']);
  return db;
}

test('isle import catalog: counts, then idempotent; a corrupted line fails naming line and field', () => {
  const db = freshDb('import');
  const args = ['--db', db, 'import', 'catalog', path.join(SHIPPED, 'items.jsonl'),
    '--bundles', path.join(SHIPPED, 'bundles.json'), '--licences', path.join(SHIPPED, 'licences.json')];
  const first = runIsleOk(args);
  assert.match(first.stdout, /370 items \(370 inserted, 0 updated, 0 unchanged\), 15 bundles, 50 licence types/);
  const second = runIsleOk(args);
  assert.match(second.stdout, /370 items \(0 inserted, 0 updated, 370 unchanged\)/);

  const lines = fs.readFileSync(path.join(SHIPPED, 'items.jsonl'), 'utf8').split('\n');
  const bad = JSON.parse(lines[11]);
  bad.materials[0].form = '扫描件';
  lines[11] = JSON.stringify(bad);
  const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
  const badFile = path.join(dir, 'items.jsonl');
  fs.writeFileSync(badFile, lines.join('\n'));
  const db2 = freshDb('corrupt');
  const r = runIsle(['--db', db2, 'import', 'catalog', badFile]);
  assert.equal(r.status, 1, `exit status: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /items\.jsonl line 12: field materials\[0\]\.form/);
  assert.equal(sqlite(db2, 'SELECT COUNT(*) FROM catalog_items'), '0', 'nothing half-imported');
  // the same file over an imported catalog leaves it as it was
  const r2 = runIsle(['--db', db, 'import', 'catalog', badFile]);
  assert.equal(r2.status, 1);
  assert.equal(sqlite(db, 'SELECT COUNT(*) FROM catalog_items WHERE version <> 1'), '0');

  assert.equal(runIsle(['--db', db2, 'import', 'catalog']).status, 2, 'missing file is a usage error');
  assert.equal(runIsle(['--db', db2, 'import', 'catalog', badFile, '--colour', 'x']).status, 2);
  assert.notEqual(runIsle(['--db', db2, 'import', 'catalog', path.join(tmp, 'missing.jsonl')]).status, 0);
});

test('isle export catalog round-trips byte for byte', () => {
  const db = freshDb('export');
  runIsleOk(['--db', db, 'import', 'catalog', path.join(SHIPPED, 'items.jsonl'),
    '--bundles', path.join(SHIPPED, 'bundles.json'), '--licences', path.join(SHIPPED, 'licences.json')]);
  const out = (n) => path.join(tmp, n);
  runIsleOk(['--db', db, 'export', 'catalog', '--out', out('a-items.jsonl'),
    '--bundles-out', out('a-bundles.json'), '--licences-out', out('a-licences.json')]);
  const stdout = runIsleOk(['--db', db, 'export', 'catalog']).stdout;
  const items = fs.readFileSync(out('a-items.jsonl'), 'utf8');
  assert.equal(stdout, items, 'stdout and --out agree');
  assert.equal(items.trimEnd().split('\n').length, 370);
  // the shipped lines, in code order
  const shipped = fs.readFileSync(path.join(SHIPPED, 'items.jsonl'), 'utf8').trimEnd().split('\n');
  const byCode = (l) => JSON.parse(l).code;
  assert.deepEqual(items.trimEnd().split('\n'), [...shipped].sort((x, y) => (byCode(x) < byCode(y) ? -1 : 1)));

  const db2 = freshDb('export2');
  runIsleOk(['--db', db2, 'import', 'catalog', out('a-items.jsonl'),
    '--bundles', out('a-bundles.json'), '--licences', out('a-licences.json')]);
  runIsleOk(['--db', db2, 'export', 'catalog', '--out', out('b-items.jsonl'),
    '--bundles-out', out('b-bundles.json'), '--licences-out', out('b-licences.json')]);
  for (const f of ['items.jsonl', 'bundles.json', 'licences.json']) {
    assert.ok(fs.readFileSync(out(`a-${f}`)).equals(fs.readFileSync(out(`b-${f}`))), `${f} identical`);
  }
  assert.ok(!fs.readdirSync(tmp).some((n) => /\.jsonl?\.[A-Za-z0-9]{6}$/.test(n)), 'no temporary files left');
});
