// Zhoushan places: towns, islands, villages and service stations.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { errorOf, startServer } from './server.mjs';

let srv;
let towns;
before(async () => {
  srv = await startServer();
  towns = (await srv.req('GET', '/api/v1/places/towns')).json?.items;
});
after(async () => { await srv?.stop(); });

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

test('/api/v1/places/towns has 36 towns with the documented fields', async () => {
  const r = await srv.req('GET', '/api/v1/places/towns');
  assert.equal(r.status, 200);
  assert.equal(r.json.items.length, 36);
  const codes = new Set();
  for (const t of r.json.items) {
    for (const k of ['code', 'name', 'county', 'kind', 'main_island', 'lat', 'lon', 'villages', 'stations']) {
      assert.ok(k in t, `town ${t.code} has ${k}`);
    }
    assert.equal(typeof t.name, 'string');
    assert.ok(t.name.length > 0);
    assert.ok(t.lat > 29 && t.lat < 31.5, `${t.name} lat ${t.lat} in Zhoushan`);
    assert.ok(t.lon > 121 && t.lon < 123.5, `${t.name} lon ${t.lon} in Zhoushan`);
    assert.ok(Number.isInteger(t.villages) && t.villages >= 0);
    assert.ok(Number.isInteger(t.stations) && t.stations >= 0);
    codes.add(t.code);
  }
  assert.equal(codes.size, 36, 'codes are unique');
  assert.ok(r.json.items.some((t) => t.stations > 0), 'some town has stations');
  assert.ok(r.json.items.some((t) => t.name.includes('普陀山') || t.name.includes('定海') || t.name.includes('沈家门')),
    'a well-known Zhoushan place name');
});

test('stations filtered by a town are all in that town', async () => {
  const town = [...towns].sort((a, b) => b.stations - a.stations)[0];
  const r = await srv.req('GET', `/api/v1/places/stations?town=${encodeURIComponent(town.code)}&limit=200`);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.items.length > 0);
  assert.equal(r.json.total, town.stations, 'total matches the town\'s station count');
  for (const s of r.json.items) {
    assert.equal(s.town_code, town.code, JSON.stringify(s));
    assert.equal(s.town_name, town.name, 'stations carry the town name');
    assert.ok('island_name' in s, 'stations carry the island name');
  }
  // every town's filter is consistent with its count
  for (const t of towns.slice(0, 8)) {
    const x = await srv.req('GET', `/api/v1/places/stations?town=${encodeURIComponent(t.code)}&limit=1`);
    assert.equal(x.status, 200);
    assert.equal(x.json.total, t.stations, `${t.name} stations total`);
    assert.ok(x.json.items.length <= 1);
  }
});

test('stations paging and kind filter', async () => {
  const all = await srv.req('GET', '/api/v1/places/stations?limit=200');
  assert.equal(all.status, 200);
  const sum = towns.reduce((n, t) => n + t.stations, 0);
  assert.equal(all.json.total, sum, 'total stations equals the sum over towns');
  const def = await srv.req('GET', '/api/v1/places/stations');
  assert.ok(def.json.items.length <= 50, 'default limit 50');
  const p1 = await srv.req('GET', '/api/v1/places/stations?limit=3&offset=0');
  const p2 = await srv.req('GET', '/api/v1/places/stations?limit=3&offset=3');
  assert.equal(p1.json.items.length, Math.min(3, sum));
  if (sum > 3) {
    const ids1 = new Set(p1.json.items.map((s) => s.id));
    assert.ok(p2.json.items.every((s) => !ids1.has(s.id)), 'pages do not overlap');
  }
  const k = await srv.req('GET', `/api/v1/places/stations?kind=${encodeURIComponent('服务中心')}&limit=200`);
  assert.equal(k.status, 200);
  assert.ok(k.json.items.every((s) => s.kind === '服务中心'));
  assertError(await srv.req('GET', `/api/v1/places/stations?kind=${encodeURIComponent('城堡')}`), 400, 'invalid_argument', 'kind');
  assertError(await srv.req('GET', '/api/v1/places/stations?limit=abc'), 400, 'invalid_argument', 'limit');
});

test('bad town param → 400 field town', async () => {
  for (const bad of ['bogus!', "1' OR '1'='1", 'x'.repeat(300)]) {
    assertError(await srv.req('GET', `/api/v1/places/stations?town=${encodeURIComponent(bad)}`), 400, 'invalid_argument', 'town');
    assertError(await srv.req('GET', `/api/v1/places/villages?town=${encodeURIComponent(bad)}`), 400, 'invalid_argument', 'town');
  }
});

test('islands and villages refer to real towns', async () => {
  const codes = new Set(towns.map((t) => t.code));
  const i = await srv.req('GET', '/api/v1/places/islands');
  assert.equal(i.status, 200);
  assert.ok(i.json.items.length > 0);
  for (const is of i.json.items) {
    for (const k of ['id', 'name', 'town_code', 'lat', 'lon', 'population', 'inhabited']) assert.ok(k in is, `island has ${k}`);
    assert.ok(codes.has(is.town_code), `island ${is.name} town ${is.town_code}`);
  }
  const town = towns.find((t) => t.villages > 0);
  assert.ok(town, 'some town has villages');
  const v = await srv.req('GET', `/api/v1/places/villages?town=${encodeURIComponent(town.code)}&limit=200`);
  assert.equal(v.status, 200);
  assert.equal(v.json.total ?? v.json.items.length, town.villages);
  assert.ok(v.json.items.length > 0);
  assert.ok(v.json.items.every((x) => x.town_code === town.code));
  // station filter by island
  const withStations = i.json.items.find((x) => x.inhabited);
  const s = await srv.req('GET', `/api/v1/places/stations?island=${encodeURIComponent(withStations.id)}&limit=200`);
  assert.equal(s.status, 200);
  assert.ok(s.json.items.every((x) => String(x.island_id) === String(withStations.id)), 'island filter');
});
