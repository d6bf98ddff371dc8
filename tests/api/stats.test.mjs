// Service KPIs (GET /api/v1/stats/services, `isle stats services`) over the product's
// demo year (`isle demo --cases 3000`): the city's claims come out of isle's own data,
// the parts add up to the whole, a new case shows at once, bad parameters are refused
// naming the field, and the one narrow combination is for staff only.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  dropDb, errorOf, makeTempDir, newDb, runIsle, runIsleOk, startServer,
} from './server.mjs';

let srv, dbPath, citizen, staff, approver, supervisor;
before(async () => {
  const dir = makeTempDir('isle-stats-');
  dbPath = newDb(dir);
  runIsleOk(['--db', dbPath, 'init']);
  const demo = runIsleOk(['--db', dbPath, 'demo', '--cases', '3000'], { timeout: 120000 });
  assert.match(demo.stdout, /demo applications: 3000 cases/);
  srv = await startServer({ dbPath });
  citizen = await srv.loginToken('citizen');
  staff = await srv.loginToken('staff');
  approver = await srv.loginToken('approver');
  supervisor = await srv.loginToken('supervisor');
});
after(async () => {
  await srv?.stop();
  if (dbPath) dropDb(dbPath);
});

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

const byId = (o) => Object.fromEntries(o.indicators.map((i) => [i.id, i]));
const round2 = (x) => Math.round(x * 100) / 100;

test('the demo year meets the city\'s claims', async () => {
  const r = await srv.req('GET', '/api/v1/stats/services');
  assert.equal(r.status, 200, r.text);
  const o = r.json;
  assert.equal(o.counts.submitted, 3000);
  assert.ok(o.counts.decided > 2700 && o.counts.open > 0, JSON.stringify(o.counts));
  for (const i of o.indicators) {
    for (const k of ['id', 'name', 'value', 'unit', 'target', 'met', 'numerator', 'denominator']) {
      assert.ok(k in i, `${i.id} has ${k}`);
    }
  }
  const f = byId(o);
  // 一网通办率保持在90%以上
  assert.ok(f.online_rate.value > 90, `一网通办率 ${f.online_rate.value}`);
  assert.equal(f.online_rate.met, true);
  assert.equal(f.online_rate.value, round2(100 * f.online_rate.numerator / f.online_rate.denominator));
  assert.equal(f.online_rate.denominator, 3000);
  // 材料免提交率25.92%
  const w = f.material_waiver_rate.value;
  assert.ok(w >= 20 && w <= 32, `材料免提交率 ${w}`);
  // 办理时间由12.8天压缩到3天
  assert.ok(f.avg_working_days.value <= 3.5, `平均办理时间 ${f.avg_working_days.value}`);
  assert.ok(f.legal_days_avg.value >= 10 && f.legal_days_avg.value <= 16, `法定 ${f.legal_days_avg.value}`);
  assert.ok(f.legal_days_avg.value > 3 * f.avg_working_days.value);
  assert.ok(f.median_working_days.value <= f.avg_working_days.value);
  assert.equal(f.median_working_days.numerator, null);
  assert.ok(f.time_saving_rate.value > 70);
  assert.ok(f.promise_compression.value > 50 && f.promise_compression.value < 80);
  assert.ok(f.instant_rate.value > 20 && f.instant_rate.value < 70);
  assert.ok(f.zero_visit_rate.value > 70);
  assert.ok(f.overdue_count.value > 0 && f.overdue_count.value < 150, `超期 ${f.overdue_count.value}`);
  assert.equal(f.overdue_count.met, false);
  assert.ok(f.rating_avg.value > 4 && f.rating_avg.value <= 5);
  assert.ok(f.bad_callback_rate.denominator > 10, 'some 差评');
  assert.ok(f.bad_callback_rate.value >= 90);
  // Aggregates only: no ID numbers, phones or logins anywhere in the answer.
  assert.doesNotMatch(r.text, /\d{17}[\dX]|1[3589]\d{9}|demo\.[pe]\d/);
});

test('the CLI prints the same figures, and the parts add up to the whole', async () => {
  const cli = JSON.parse(runIsleOk(['--db', dbPath, 'stats', 'services', '--json']).stdout);
  const api = (await srv.req('GET', '/api/v1/stats/services')).json;
  assert.deepEqual(byId(cli), byId(api));
  for (const by of ['channel', 'department', 'town']) {
    const r = await srv.req('GET', `/api/v1/stats/services?by=${by}`);
    assert.equal(r.status, 200, r.text);
    const sum = (k) => r.json.groups.reduce((a, g) => a + g.counts[k], 0);
    assert.equal(sum('submitted'), api.counts.submitted, `${by}: submitted`);
    assert.equal(sum('decided'), api.counts.decided, `${by}: decided`);
    const part = (id) => r.json.groups.reduce((a, g) => a + (byId(g)[id].numerator ?? 0), 0);
    assert.equal(part('online_rate'), byId(api).online_rate.numerator);
    assert.equal(part('overdue_count'), byId(api).overdue_count.numerator);
  }
  const towns = (await srv.req('GET', '/api/v1/stats/services?by=town')).json.groups;
  assert.equal(towns.length, 36, 'applications from every town');
  assert.ok(towns.every((g) => g.name && !/^\d+$/.test(g.name)), 'towns have names');
  const ch = (await srv.req('GET', '/api/v1/stats/services?by=channel')).json.groups;
  assert.deepEqual(ch.map((g) => g.key).sort(), ['assisted', 'online', 'station', 'window']);
  const online = ch.find((g) => g.key === 'online');
  assert.equal(byId(online).online_rate.value, 100);
  assert.equal(byId(online).promise_compression.value, null, 'not split by channel');
  // A filter narrows: one department's cases are a part of the whole.
  const dep = (await srv.req('GET', `/api/v1/stats/services?department=${encodeURIComponent('舟山市公安局')}`)).json;
  assert.ok(dep.counts.submitted > 0 && dep.counts.submitted < api.counts.submitted);
  assert.equal(dep.filters.department, '舟山市公安局');
});

async function upload(auth, bytes, name) {
  const fd = new FormData();
  fd.append('file', new Blob([bytes]), name);
  const r = await srv.req('POST', '/api/v1/uploads', { auth, body: fd });
  assert.equal(r.status, 201, r.text);
  return r.json.files[0].id;
}

test('a new application counts at once', async () => {
  const before = (await srv.req('GET', '/api/v1/stats/services')).json;
  const item = '330900-RS-200021';
  const d = await srv.req('POST', '/api/v1/cases', {
    auth: citizen,
    json: { item_code: item, form: { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234' }, submit: false },
  });
  assert.equal(d.status, 201, d.text);
  const missing = d.json.materials.filter((m) => m.required && m.satisfied_by === 'none');
  if (missing.length) {
    const pdf = await upload(citizen, Buffer.from('%PDF-1.4\n%%EOF\n'), 'scan.pdf');
    const put = await srv.req('PUT', `/api/v1/cases/${d.json.id}`, {
      auth: citizen, json: { materials: missing.map((m) => ({ idx: m.idx, by: 'upload', file_id: pdf })) },
    });
    assert.equal(put.status, 200, put.text);
  }
  const s = await srv.req('POST', `/api/v1/cases/${d.json.id}/actions/submit`, { auth: citizen });
  assert.equal(s.status, 200, s.text);
  const mid = (await srv.req('GET', '/api/v1/stats/services')).json;
  assert.equal(mid.counts.submitted, before.counts.submitted + 1);
  assert.equal(byId(mid).online_rate.numerator, byId(before).online_rate.numerator + 1);
  const acc = await srv.req('POST', `/api/v1/cases/${d.json.id}/actions/accept`, { auth: staff });
  assert.equal(acc.status, 200, acc.text);
  const ok = await srv.req('POST', `/api/v1/cases/${d.json.id}/actions/approve`, { auth: approver });
  assert.equal(ok.status, 200, ok.text);
  const afterApprove = (await srv.req('GET', '/api/v1/stats/services')).json;
  assert.equal(afterApprove.counts.decided, before.counts.decided + 1);
  const mine = (await srv.req('GET', `/api/v1/stats/services?item=${item}`)).json;
  assert.ok(mine.counts.submitted >= 1);
});

test('bad parameters are refused naming the field', async () => {
  const bad = [
    ['from=2026-02-30', 'from'],
    ['to=yesterday', 'to'],
    ['from=2026-06-02&to=2026-06-01', 'from'],
    ['from=2000-01-01&to=2026-01-01', 'from'],
    ['town=123', 'town'],
    ['channel=fax', 'channel'],
    ['by=island', 'by'],
    [`department=${'部'.repeat(60)}`, 'department'],
    [`item=${'x'.repeat(41)}`, 'item'],
    ['year=2026', 'year'],
  ];
  for (const [q, field] of bad) {
    assertError(await srv.req('GET', `/api/v1/stats/services?${q}`), 400, 'invalid_argument', field);
  }
  // Empty values are absent ones.
  assert.equal((await srv.req('GET', '/api/v1/stats/services?town=&by=')).status, 200);
  const cli = runIsle(['--db', dbPath, 'stats', 'services', '--from', '2026-13-01']);
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /field: from/);
});

test('one item in one town is for staff only; the registry is public', async () => {
  const q = '/api/v1/stats/services?town=330902006&item=330900-RS-200021';
  assertError(await srv.req('GET', q), 401, 'unauthenticated', 'town');
  assertError(await srv.req('GET', q, { auth: citizen }), 403, 'permission_denied', 'town');
  assert.equal((await srv.req('GET', q, { auth: supervisor })).status, 200);
  assertError(await srv.req('GET', '/api/v1/stats/services?town=330902006&by=item'), 401);
  assert.equal((await srv.req('GET', '/api/v1/stats/services?town=330902006')).status, 200);
  const reg = await srv.req('GET', '/api/v1/stats/indicators');
  assert.equal(reg.status, 200);
  const ids = reg.json.items.map((i) => i.id);
  for (const id of ['online_rate', 'material_waiver_rate', 'avg_working_days', 'median_working_days',
    'promise_compression', 'instant_rate', 'zero_visit_rate', 'overdue_count', 'rating_avg',
    'bad_callback_rate', 'bad_closure_rate']) assert.ok(ids.includes(id), id);
  const online = reg.json.items.find((i) => i.id === 'online_rate');
  assert.equal(online.target, 90);
  assert.equal(online.direction, 'higher');
  assert.ok(online.definition.includes('帮办代办'));
});

test('isle demo again leaves the year as it is', async () => {
  const r = runIsleOk(['--db', dbPath, 'demo']);
  assert.match(r.stdout, /demo applications already present/);
  assertError(await srv.req('GET', '/api/v1/stats/services?year=1'), 400);
  const bad = runIsle(['--db', dbPath, 'demo', '--cases', 'many']);
  assert.equal(bad.status, 2);
});
