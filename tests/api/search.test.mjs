// Search API: /api/v1/search, /api/v1/suggest, staff synonyms (audited) and the
// zero-result report. The server is started with the demo data, which includes
// the reference catalog (data/catalog/items.jsonl).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { errorOf, runIsle, sqlite, startServer } from './server.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => { await srv?.stop(); });

const q = (s) => encodeURIComponent(s);

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

test('search answers with ranked items, highlights, facets and timing', async () => {
  const r = await srv.req('GET', `/api/v1/search?q=${q('老人证')}`);
  assert.equal(r.status, 200, r.text);
  const b = r.json;
  assert.equal(b.query, '老人证');
  assert.equal(b.normalized, '老人证');
  assert.ok(b.total >= 1);
  assert.ok(b.items.length >= 1 && b.items.length <= 10);
  const top = b.items[0];
  assert.equal(top.code, '330900-MZ-300010', 'the 俗称 finds 老年人优待证办理');
  for (const k of ['code', 'name', 'department', 'type', 'score', 'highlight', 'online_depth',
    'promise_days', 'commitment', 'instant']) assert.ok(k in top, `item has ${k}`);
  assert.match(top.highlight.name, /<mark>.+<\/mark>/);
  assert.equal(typeof b.facets.department, 'object');
  assert.equal(typeof b.facets.type, 'object');
  const facetSum = Object.values(b.facets.type).reduce((a, n) => a + n, 0);
  assert.equal(facetSum, b.total, 'type facet counts add up to the total');
  assert.equal(typeof b.took_ms, 'number');
  for (let i = 1; i < b.items.length; i++) assert.ok(b.items[i - 1].score >= b.items[i].score);
});

test('pinyin, initials, traditional and mixed queries find their items', async () => {
  const cases = [
    ['shenfenzheng', '330900-GA-100014'],
    ['sfz', '330900-GA-100013'],
    ['營業執照', '330900-SC-400014'],
    ['社bao卡', '330900-RS-200021'],
    ['ｙｙｚｚ 补办', '330900-SC-400014'],
  ];
  for (const [query, code] of cases) {
    const r = await srv.req('GET', `/api/v1/search?q=${q(query)}&limit=5`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.items.some((it) => it.code === code), `${query} finds ${code}: ${r.text.slice(0, 400)}`);
  }
});

test('filters restrict the items and paging does not overlap', async () => {
  const all = await srv.req('GET', `/api/v1/search?q=${q('登记')}&limit=100`);
  assert.equal(all.status, 200);
  const dep = '舟山市公安局';
  const f = await srv.req('GET', `/api/v1/search?q=${q('登记')}&limit=100&department=${q(dep)}`);
  assert.equal(f.status, 200);
  assert.ok(f.json.total > 0 && f.json.total < all.json.total);
  assert.ok(f.json.items.every((it) => it.department === dep));
  const t = await srv.req('GET', `/api/v1/search?q=${q('许可')}&type=${q('行政许可')}&limit=50`);
  assert.ok(t.json.items.every((it) => it.type === '行政许可'));
  const inst = await srv.req('GET', `/api/v1/search?q=${q('证明')}&instant=true&limit=50`);
  assert.equal(inst.status, 200);
  assert.ok(inst.json.items.every((it) => it.instant === true));
  const com = await srv.req('GET', `/api/v1/search?q=${q('许可')}&commitment=1&limit=50`);
  assert.ok(com.json.items.every((it) => it.commitment === true));
  const scope = await srv.req('GET', `/api/v1/search?q=${q('登记')}&scope=${q('全省通办')}`);
  assert.equal(scope.status, 200);
  const at = await srv.req('GET', `/api/v1/search?q=${q('登记')}&handle_at=${q('浙里办')}`);
  assert.equal(at.status, 200);
  const town = await srv.req('GET', `/api/v1/search?q=${q('登记')}&town=330902100`);
  assert.equal(town.status, 200);
  const p1 = await srv.req('GET', `/api/v1/search?q=${q('登记')}&limit=5&offset=0`);
  const p2 = await srv.req('GET', `/api/v1/search?q=${q('登记')}&limit=5&offset=5`);
  const seen = new Set(p1.json.items.map((it) => it.code));
  assert.ok(p2.json.items.every((it) => !seen.has(it.code)), 'pages do not overlap');
});

test('bad parameters are refused with 400 and the field named', async () => {
  const long = 'a'.repeat(257);
  assertError(await srv.req('GET', `/api/v1/search?q=${long}`), 400, 'invalid_argument', 'q');
  assertError(await srv.req('GET', `/api/v1/suggest?q=${long}`), 400, 'invalid_argument', 'q');
  assertError(await srv.req('GET', '/api/v1/search?q='), 400, 'invalid_argument', 'q');
  assertError(await srv.req('GET', `/api/v1/search?q=x&limit=ten`), 400, 'invalid_argument', 'limit');
  const clamped = await srv.req('GET', `/api/v1/search?q=${q('登记')}&limit=1000`);
  assert.equal(clamped.status, 200);
  assert.ok(clamped.json.items.length <= 100, 'limit is clamped to 100');
  assertError(await srv.req('GET', `/api/v1/search?q=x&instant=maybe`), 400, 'invalid_argument', 'instant');
  assertError(await srv.req('GET', `/api/v1/search?q=x&scope=${q('全国通办')}`), 400, 'invalid_argument', 'scope');
  assertError(await srv.req('GET', `/api/v1/search?q=x&town=12`), 400, 'invalid_argument', 'town');
  assertError(await srv.req('GET', `/api/v1/search?q=x&handle_at=${q('家里')}`), 400, 'invalid_argument', 'handle_at');
});

test('suggest completes names, pinyin and initials', async () => {
  const r = await srv.req('GET', `/api/v1/suggest?q=${q('居民身份')}`);
  assert.equal(r.status, 200);
  assert.ok(r.json.items.length >= 3);
  assert.ok(r.json.items.slice(0, 3).every((it) => it.name.includes('居民身份证')));
  for (const it of r.json.items) assert.deepEqual(Object.keys(it).sort(), ['code', 'name']);
  const py = await srv.req('GET', '/api/v1/suggest?q=huzhao');
  assert.ok(py.json.items.some((it) => it.name.includes('护照')));
  const ini = await srv.req('GET', '/api/v1/suggest?q=hz');
  assert.ok(ini.json.items.some((it) => it.name.includes('护照')));
  const empty = await srv.req('GET', '/api/v1/suggest?q=');
  assert.deepEqual(empty.json.items, []);
});

test('synonyms: staff add and delete, audited; citizens may not', async () => {
  const citizen = await srv.login('citizen');
  assert.equal((await srv.req('GET', '/api/v1/search/synonyms', { auth: citizen })).status, 403);
  assert.equal((await srv.req('GET', '/api/v1/search/synonyms')).status, 401);
  const staff = await srv.login('staff');
  const list = await srv.req('GET', '/api/v1/search/synonyms', { auth: staff });
  assert.equal(list.status, 200);
  assert.ok(list.json.items.some((s) => s.term === '老人证' && s.source === 'file'));

  const before = await srv.req('GET', `/api/v1/search?q=${q('鸡毛信')}`);
  assert.ok(!before.json.items.some((it) => it.code === '330900-GA-100052'));
  const add = await srv.req('POST', '/api/v1/search/synonyms', {
    auth: staff, json: { term: '鸡毛信', canonical: '机动车号牌' },
  });
  assert.equal(add.status, 201, add.text);
  assert.ok(add.json.id > 0);
  const now = await srv.req('GET', `/api/v1/search?q=${q('鸡毛信')}`);
  assert.ok(now.json.items.some((it) => it.code === '330900-GA-100052'), 'the new synonym applies at once');
  const dup = await srv.req('POST', '/api/v1/search/synonyms', {
    auth: staff, json: { term: '鸡毛信', canonical: '机动车号牌' },
  });
  assertError(dup, 409, 'conflict');
  assertError(await srv.req('POST', '/api/v1/search/synonyms', { auth: staff, json: { term: '', canonical: 'x' } }),
    400, 'invalid_argument', 'term');
  assertError(await srv.req('POST', '/api/v1/search/synonyms', { auth: staff, json: { term: 'a'.repeat(65), canonical: 'x' } }),
    400, 'invalid_argument', 'term');
  assertError(await srv.req('POST', '/api/v1/search/synonyms', { auth: staff, json: { term: '同', canonical: '同' } }),
    400, 'invalid_argument', 'canonical');
  const listed = await srv.req('GET', '/api/v1/search/synonyms', { auth: staff });
  const mine = listed.json.items.find((s) => s.id === add.json.id);
  assert.equal(mine.source, 'db');
  assert.equal(mine.created_by, 'staff');

  const del = await srv.req('DELETE', `/api/v1/search/synonyms/${add.json.id}`, { auth: staff });
  assert.equal(del.status, 204, del.text);
  assertError(await srv.req('DELETE', `/api/v1/search/synonyms/${add.json.id}`, { auth: staff }), 404, 'not_found');
  const gone = await srv.req('GET', `/api/v1/search?q=${q('鸡毛信')}`);
  assert.ok(!gone.json.items.some((it) => it.code === '330900-GA-100052'));

  const actions = sqlite(srv.dbPath,
    `SELECT action FROM audit_log WHERE object_type = 'search_synonym' AND object_id = '${add.json.id}' ORDER BY id`);
  assert.deepEqual(actions.split('\n'), ['search.synonym.create', 'search.synonym.delete']);
  const v = runIsle(['--db', srv.dbPath, 'audit', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test('zero-result queries are reported to staff without digit runs', async () => {
  const odd = '火星移民签证办理';
  await srv.req('GET', `/api/v1/search?q=${q(`9876543210 ${odd}`)}`);
  const nothing = await srv.req('GET', `/api/v1/search?q=${q('1234 5678')}`);
  assert.equal(nothing.status, 200);
  assert.equal(nothing.json.total, 0);
  const staff = await srv.login('staff');
  const citizen = await srv.login('citizen');
  assert.equal((await srv.req('GET', '/api/v1/search/zero-results', { auth: citizen })).status, 403);
  const sup = await srv.login('supervisor');
  const r = await srv.req('GET', '/api/v1/search/zero-results?limit=200', { auth: sup });
  assert.equal(r.status, 200, r.text);
  assert.ok(Array.isArray(r.json.items));
  for (const it of r.json.items) {
    assert.doesNotMatch(it.query, /\d{7,}/, 'no long digit runs are logged');
    assert.ok(it.zero_results >= 1 && it.searches >= it.zero_results);
  }
  const byStaff = await srv.req('GET', '/api/v1/search/zero-results', { auth: staff });
  assert.equal(byStaff.status, 200);
  assert.ok(r.json.items.some((it) => it.query === '1234 5678'), JSON.stringify(r.json.items));
  const rows = sqlite(srv.dbPath, "SELECT count(*) FROM search_log WHERE query LIKE '%9876543210%'");
  assert.equal(rows, '0');
});

test('isle search --batch prints one line per query', async () => {
  const r = runIsle(['--db', srv.dbPath, 'search', '--batch', '--limit', '3'], {
    input: '老人证\nshebaoka\n\n9876543\n',
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l, i, a) => i < a.length - 1 || l);
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^老人证\t330900-MZ-300010(,|$)/);
  assert.match(lines[1], /^shebaoka\t\d{6}-RS-/);
  assert.equal(lines[2], '\t');
  assert.equal(lines[3], '9876543\t');
  const one = runIsle(['--db', srv.dbPath, 'search', '--json', '--limit', '2', '护照']);
  assert.equal(one.status, 0, one.stderr);
  const j = JSON.parse(one.stdout);
  assert.equal(j.items.length, 2);
});

test('nonsense finds nothing instead of stray one-character matches', async () => {
  for (const query of ['xyzzy', 'qqzzxxjj', '宠物狗疫苗']) {
    const r = await srv.req('GET', `/api/v1/search?q=${q(query)}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.total, 0, `${query} should find nothing, got ${JSON.stringify(r.json.items?.[0])}`);
    assert.deepEqual(r.json.items, []);
  }
  // The weakest right answers of the development set still come back.
  for (const [query, code] of [['kegongzhang', '330900-SC-400031'], ['开加油站需要满足什么条件', null]]) {
    const r = await srv.req('GET', `/api/v1/search?q=${q(query)}&limit=5`);
    assert.ok(r.json.items.length > 0, `${query} finds something`);
    if (code) assert.equal(r.json.items[0].code, code);
  }
});

test('a repeated search is answered from the cache until the index changes', async () => {
  const path = `/api/v1/search?q=${q('老年人优待证')}&limit=5`;
  const first = await srv.req('GET', path);
  assert.equal(first.status, 200, first.text);
  const second = await srv.req('GET', path);
  assert.equal(second.json.cached, true, 'the repeat comes from the cache');
  const strip = (b) => { const c = { ...b }; delete c.took_ms; delete c.cached; return c; };
  assert.deepEqual(strip(second.json), strip(first.json), 'the cached answer is the same answer');
  // Other parameters are other answers.
  const other = await srv.req('GET', `/api/v1/search?q=${q('老年人优待证')}&limit=4`);
  assert.equal(other.json.cached, false);
  assert.equal(other.json.items.length, Math.min(4, first.json.items.length));

  // An edit of the top item changes the index: the next search computes afresh
  // and shows the new name.
  const code = first.json.items[0].code;
  const staff = await srv.login('staff');
  const got = await srv.req('GET', `/api/v1/items/${code}`);
  const it = got.json;
  for (const k of ['version', 'updated_at', 'popularity', 'bundles']) delete it[k];
  for (const m of it.materials) { delete m.licence_issuer; delete m.licence_trust_level; }
  it.name = `${it.name}（缓存测试）`;
  const put = await srv.req('PUT', `/api/v1/items/${code}`, { auth: staff, json: it });
  assert.equal(put.status, 200, put.text);
  const after = await srv.req('GET', path);
  assert.equal(after.json.cached, false, 'the edit invalidated the cached answer');
  assert.ok(after.json.items.some((x) => x.name === it.name), 'the new name is found');
  const m = await srv.req('GET', '/metrics');
  const hits = Number((m.text.match(/^isle_search_cache_total\{outcome="hit"\} (\d+)$/m) || [])[1]);
  assert.ok(hits >= 1, 'cache hits are counted in /metrics');
});
