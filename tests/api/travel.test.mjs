// The travel graph and the 10-minute service circle: GET /api/v1/travel,
// GET /api/v1/coverage (+ /services), and `isle travel` / `isle coverage --json`,
// on the demo database (the shipped Zhoushan geography).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { errorOf, runIsle, startServer } from './server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const LOCAL = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/;

function travel(from, to, at) {
  const q = new URLSearchParams();
  if (from !== undefined) q.set('from', from);
  if (to !== undefined) q.set('to', to);
  if (at !== undefined) q.set('at', at);
  return srv.req('GET', `/api/v1/travel?${q}`);
}

function assertError(r, status, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (status === 400) assert.equal(e.code, 'invalid_argument');
  assert.equal(e.field, field);
  assert.ok(e.message.length > 0);
  return e;
}

function assertRoute(j) {
  assert.match(j.arrival, LOCAL);
  assert.match(j.depart, LOCAL);
  assert.ok(Array.isArray(j.legs) && j.legs.length > 0);
  let prev = j.depart;
  for (const l of j.legs) {
    for (const k of ['from', 'to', 'mode', 'depart', 'arrive', 'minutes']) assert.ok(k in l, `leg has ${k}`);
    assert.ok(['drive', 'bridge', 'ferry', 'road'].includes(l.mode), l.mode);
    assert.match(l.depart, LOCAL);
    assert.match(l.arrive, LOCAL);
    assert.ok(l.depart >= prev, `legs are in order: ${JSON.stringify(j.legs)}`);
    assert.ok(l.arrive >= l.depart);
    assert.ok(Number.isInteger(l.minutes) && l.minutes >= 0);
    prev = l.arrive;
  }
  assert.equal(j.legs.at(-1).arrive, j.arrival);
}

test('东极 at 16:00 from the city: no boat until the next morning', async () => {
  const r = await travel('S0001', '东极', '2026-12-01 16:00');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.reachable, true);
  assert.equal(r.json.from.id, 'S0001');
  assert.equal(r.json.from.kind, 'station');
  assert.equal(r.json.to.kind, 'town');
  assert.equal(r.json.to.island, 'miaozihu');
  assertRoute(r.json);
  assert.equal(r.json.arrival, '2026-12-02 08:50');
  const ferries = r.json.legs.filter((l) => l.mode === 'ferry');
  assert.equal(ferries.length, 1);
  assert.equal(ferries[0].line, 'L025');
  assert.equal(ferries[0].depart, '2026-12-02 07:30');
  assert.equal(ferries[0].from, '沈家门半升洞码头');
  assert.equal(ferries[0].wait_minutes, 10, 'the drive is laid out to reach the pier just in time');
  // Leaving at 06:00 the same boat is reached the same day.
  const early = await travel('S0001', '东极', '2026-12-01 06:00');
  assert.equal(early.json.arrival, '2026-12-01 08:50');
  // Someone on 庙子湖 itself is there within minutes at 16:00.
  const local = await travel('庙子湖', '东极镇', '2026-12-01 16:00');
  assert.equal(local.status, 200, local.text);
  assert.ok(local.json.minutes <= 15, JSON.stringify(local.json));
});

test('bridges: any hour, the same both ways; ferries: waits make trips asymmetric', async () => {
  const night = await travel('zhoushan', 'jintang', '2026-12-01 03:00');
  const day = await travel('zhoushan', 'jintang', '2026-12-01 15:00');
  const back = await travel('jintang', 'zhoushan', '2026-12-01 15:00');
  for (const r of [night, day, back]) {
    assert.equal(r.status, 200, r.text);
    assertRoute(r.json);
    assert.ok(r.json.legs.every((l) => l.mode !== 'ferry'), 'all by road and bridge');
  }
  assert.equal(night.json.minutes, day.json.minutes);
  assert.equal(day.json.minutes, back.json.minutes);
  const bridges = day.json.legs.filter((l) => l.mode === 'bridge');
  assert.equal(bridges.length, 4, '岑港, 响礁门, 桃夭门, 西堠门');
  assert.ok(bridges.some((l) => l.via === '西堠门大桥'));
  // 东福山 has two boats a day from 庙子湖 (07:30, 14:30): out at 10:00 waits until 14:30.
  const out = await travel('miaozihu', 'dongfushan', '2026-12-01 10:00');
  const home = await travel('dongfushan', 'miaozihu', '2026-12-01 15:20');
  assert.equal(out.json.arrival, '2026-12-01 15:10');
  assert.equal(home.json.arrival, '2026-12-02 08:10', 'after the last boat: tomorrow 07:30');
});

test('charter-only islands have no scheduled connection', async () => {
  const r = await travel('miaozihu', 'huangxing', '2026-12-01 09:00');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.reachable, false);
  assert.equal(r.json.arrival, null);
  assert.equal(r.json.minutes, null);
  assert.deepEqual(r.json.legs, []);
});

test('travel: bad input is 400 naming the field', async () => {
  assertError(await travel(undefined, 'zhoushan', '2026-12-01 09:00'), 400, 'from');
  assertError(await travel('zhoushan', undefined, '2026-12-01 09:00'), 400, 'to');
  assertError(await travel('', 'zhoushan'), 400, 'from');
  const e = assertError(await travel('zhoushan', '火星', '2026-12-01 09:00'), 400, 'to');
  assert.ok(e.message.includes('火星'));
  assertError(await travel('nowhere', 'zhoushan', '2026-12-01 09:00'), 400, 'from');
  assertError(await travel('zhoushan', 'daishan', 'tomorrow'), 400, 'at');
  assertError(await travel('zhoushan', 'daishan', '2026-13-01 09:00'), 400, 'at');
  assertError(await travel('zhoushan', 'x'.repeat(500), '2026-12-01 09:00'), 400, 'to');
  // Without at, "now" is used.
  const now = await travel('zhoushan', 'daishan');
  assert.equal(now.status, 200, now.text);
  assertRoute(now.json);
});

test('isle travel --json gives the same answer; bad names exit 2', () => {
  const r = runIsle(['--db', srv.dbPath, 'travel', 'S0001', '东极', '--at', '2026-12-01 16:00', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.arrival, '2026-12-02 08:50');
  assertRoute(j);
  assert.deepEqual(j.legs.map((l) => l.mode), ['drive', 'ferry']);
  const text = runIsle(['--db', srv.dbPath, 'travel', 'S0001', '东极', '--at', '2026-12-01 16:00']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /arrival 2026-12-02 08:50/);
  assert.match(text.stdout, /L025/);
  const bad = runIsle(['--db', srv.dbPath, 'travel', '火星', 'zhoushan', '--at', '2026-12-01 16:00']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /火星/);
  const badAt = runIsle(['--db', srv.dbPath, 'travel', 'zhoushan', 'daishan', '--at', 'soon']);
  assert.equal(badAt.status, 2);
  const none = runIsle(['--db', srv.dbPath, 'travel', 'zhoushan', 'huangxing', '--at', '2026-12-01 09:00']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no scheduled connection/);
});

test('coverage: the share within 10 minutes, per town, and the villages left out', async () => {
  const r = await srv.req('GET', '/api/v1/coverage?service=household');
  assert.equal(r.status, 200, r.text);
  const c = r.json;
  assert.equal(c.service.code, 'household');
  assert.deepEqual(c.service.kinds, ['服务中心']);
  assert.equal(c.threshold_minutes, 10);
  assert.equal(c.depart, '2026-12-01 10:00');
  assert.equal(c.stations, 36);
  assert.equal(c.villages, 395);
  assert.ok(c.share_within_10min >= 0 && c.share_within_10min <= 1);
  assert.ok(c.share_within_10min < 1, 'the small islands are outside');
  assert.equal(c.towns.length, 36);
  let sum = 0;
  for (const t of c.towns) {
    for (const k of ['code', 'name', 'villages', 'villages_within', 'population', 'population_within',
      'share_within_10min', 'max_minutes']) assert.ok(k in t, `town has ${k}`);
    assert.ok(t.share_within_10min >= 0 && t.share_within_10min <= 1);
    sum += t.population_within;
  }
  assert.equal(sum, c.population_within);
  assert.equal(c.villages_outside.length, c.villages - c.villages_within);
  let prev = Infinity;
  for (const v of c.villages_outside) {
    for (const k of ['code', 'name', 'town', 'minutes']) assert.ok(k in v, `village has ${k}`);
    assert.ok(v.minutes > 10, JSON.stringify(v));
    assert.ok(v.minutes <= prev, 'slowest first');
    prev = v.minutes;
  }
  assert.ok(c.villages_outside.some((v) => v.name === '东福山村'), '东福山 is hours from 东极镇');

  // Every point offers 帮办代办 (the default): at least as many residents are covered.
  const all = await srv.req('GET', '/api/v1/coverage');
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.service.code, 'proxy');
  assert.ok(all.json.share_within_10min >= c.share_within_10min);

  // One town; a catalog item code as the service.
  const town = await srv.req('GET', '/api/v1/coverage?service=household&town=330903105');
  assert.equal(town.status, 200, town.text);
  assert.equal(town.json.towns.length, 1);
  assert.equal(town.json.villages, 4);
  const item = await srv.req('GET', '/api/v1/coverage?service=330900-GA-100001');
  assert.equal(item.status, 200, item.text);
  assert.equal(item.json.service.item, true);
  assert.ok(item.json.service.kinds.includes('服务中心'));
  const later = await srv.req('GET', '/api/v1/coverage?service=household&at=15:30');
  assert.equal(later.json.depart, '2026-12-01 15:30');
});

test('coverage: services list and bad input', async () => {
  const s = await srv.req('GET', '/api/v1/coverage/services');
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.default, 'proxy');
  assert.ok(s.json.services.find((x) => x.code === 'proxy').kinds.length === 3);
  assertError(await srv.req('GET', '/api/v1/coverage?service=nope'), 400, 'service');
  assertError(await srv.req('GET', '/api/v1/coverage?service=330900-GA-999999'), 404, 'service');
  // A passport is only issued at the city and county halls: no circle at all.
  assertError(await srv.req('GET', '/api/v1/coverage?service=330900-GA-100022'), 422, 'service');
  assertError(await srv.req('GET', '/api/v1/coverage?town=abc'), 400, 'town');
  assertError(await srv.req('GET', '/api/v1/coverage?town=339999999'), 404, 'town');
  assertError(await srv.req('GET', '/api/v1/coverage?at=25:99'), 400, 'at');
});

test('isle coverage --json equals the API', async () => {
  const api = await srv.req('GET', '/api/v1/coverage?service=household');
  const r = runIsle(['--db', srv.dbPath, 'coverage', '--service', 'household', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), api.json);
  const text = runIsle(['--db', srv.dbPath, 'coverage', '--service', 'household']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /residents within 10 min/);
  const bad = runIsle(['--db', srv.dbPath, 'coverage', '--service', 'nope']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /service/);
});
