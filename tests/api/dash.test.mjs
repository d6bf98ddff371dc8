// 数智分析 and 无感监测 (src/dash/, src/api/api_dash.c): who may read the dashboards,
// the overview's shape, the drill-down city → county → town → item → cases adding up
// at every level (and naming no person at the last), the CSV and Excel exports, the
// year's report adding up, an alert opened once when a town's 一网通办率 falls under
// 90% (supervisors told in-app) and resolved when it is back, and the live "changed"
// event on SSE topic "dash" within 2 s of a new case.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';

import { dbQuery, errorOf, runIsle, sseSubscribe, startServer } from './server.mjs';

let srv;
const s = {};

before(async () => {
  // A fast dashboard tick for the live test; the monitor is run by hand (CLI) here.
  srv = await startServer({ env: { ISLE_DASH_TICK_MS: '200', ISLE_DASH_MONITOR_MS: '3600000' } });
  for (const l of ['citizen', 'staff', 'supervisor', 'trading_staff', 'admin']) s[l] = await srv.loginToken(l);
});
after(async () => {
  await srv?.stop();
});

const get = (who, p) => srv.req('GET', p, { auth: who ? s[who] : undefined });
const sum = (rows, key) => rows.reduce((a, r) => a + (r.cells[key] || 0), 0);

async function ok(who, p) {
  const r = await get(who, p);
  assert.equal(r.status, 200, `${p}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.json;
}

test('roles: anonymous 401, citizen 403, staff and supervisors read', async () => {
  for (const p of ['/api/v1/dash/overview', '/api/v1/dash/services', '/api/v1/dash/services.csv',
    '/api/v1/dash/services.xlsx', '/api/v1/dash/alerts', '/api/v1/dash/history?indicator=online_rate',
    '/api/v1/dash/report?year=2026']) {
    const anon = await get(null, p);
    assert.equal(anon.status, 401, `${p} anonymous`);
    assert.equal(errorOf(anon).code, 'unauthenticated');
    const cit = await get('citizen', p);
    assert.equal(cit.status, 403, `${p} citizen`);
  }
  for (const who of ['staff', 'supervisor', 'trading_staff', 'admin']) await ok(who, '/api/v1/dash/overview');
  // Bad parameters name their field.
  for (const [p, field] of [['/api/v1/dash/services?level=planet', 'level'], ['/api/v1/dash/services?from=2026-13-01', 'from'],
    ['/api/v1/dash/alerts?status=maybe', 'status'], ['/api/v1/dash/history?indicator=online_rate&dim=moon', 'dim']]) {
    const r = await get('supervisor', p);
    assert.equal(r.status, 400, p);
    assert.equal(errorOf(r).field, field, p);
  }
  const unknown = await get('supervisor', '/api/v1/dash/services?level=town&town=339999999');
  assert.equal(unknown.status, 404);
});

test('overview: the headline figures, trend, channels, towns, trading', async () => {
  const o = await ok('supervisor', '/api/v1/dash/overview');
  assert.match(o.window.from, /^\d{4}-\d\d-\d\d$/);
  const ind = new Map(o.services.indicators.map((i) => [i.id, i]));
  for (const id of ['online_rate', 'material_waiver_rate', 'instant_rate', 'zero_visit_rate', 'avg_working_days', 'legal_days_avg', 'rating_avg', 'overdue_count']) {
    assert.ok(ind.has(id), id);
  }
  const online = ind.get('online_rate');
  assert.equal(online.target, 90);
  assert.equal(online.denominator, o.services.counts.submitted);
  assert.equal(online.met, online.value >= 90);
  assert.ok(o.services.counts.submitted > 0);
  // The trend and the channels add up to the window's cases.
  assert.equal(o.trend.reduce((a, m) => a + m.submitted, 0), o.services.counts.submitted);
  assert.equal(o.channels.reduce((a, c) => a + c.cases, 0), o.services.counts.submitted);
  assert.ok(o.towns.length >= 30, 'the towns with their coordinates');
  for (const t of o.towns) {
    assert.match(t.code, /^\d{9}$/);
    assert.ok(Number.isFinite(t.lat) && Number.isFinite(t.lon), t.name);
  }
  assert.equal(o.towns.reduce((a, t) => a + t.submitted, 0), o.services.counts.submitted);
  assert.ok(o.trading && o.trading.indicators['trade.amount'], 'trading headline');
  for (const k of ['villages', 'villages_within', 'share_within_10min']) assert.ok(k in o.coverage, k);
  for (const k of ['requests', 'done']) assert.ok(k in o.assist, k);
  for (const k of ['issued', 'requested']) assert.ok(k in o.proofs, k);
  for (const k of ['items', 'cross_province', 'province', 'yongzhou', 'instant', 'bundles']) assert.ok(o.catalog[k] >= 0, k);
  assert.equal(typeof o.alerts.open, 'number');
});

test('drill-down adds up from the city to the cases, and names nobody', async () => {
  const o = await ok('supervisor', '/api/v1/dash/overview');
  const city = await ok('supervisor', '/api/v1/dash/services');
  assert.equal(city.level, 'city');
  assert.deepEqual(city.window, o.window);
  assert.ok(city.rows.length >= 2, 'counties');
  assert.equal(sum(city.rows, 'submitted'), o.services.counts.submitted, 'Σ counties = city');
  assert.deepEqual(city.columns.map((c) => c.key).slice(0, 3), ['label', 'submitted', 'online_rate']);

  const county = city.rows.find((r) => r.cells.submitted > 0);
  assert.equal(county.next.level, 'county');
  const towns = await ok('supervisor', `/api/v1/dash/services?level=county&county=${encodeURIComponent(county.next.params.county)}`);
  assert.equal(sum(towns.rows, 'submitted'), county.cells.submitted, 'Σ towns = county');
  // The county's rate is recomputed from the towns' numerators, not averaged.
  const online = towns.rows.reduce((a, r) => a + Math.round((r.cells.online_rate || 0) * r.cells.submitted / 100), 0);
  assert.ok(Math.abs(100 * online / county.cells.submitted - county.cells.online_rate) < 0.02, 'county rate from the towns');
  assert.deepEqual(towns.crumbs.map((c) => c.level), ['city', 'county']);

  const town = towns.rows.filter((r) => r.cells.submitted > 0).sort((a, b) => b.cells.submitted - a.cells.submitted)[0];
  assert.equal(town.next.level, 'town');
  const items = await ok('supervisor', `/api/v1/dash/services?level=town&town=${town.next.params.town}`);
  assert.equal(sum(items.rows, 'submitted'), town.cells.submitted, 'Σ items = town');

  const item = items.rows.sort((a, b) => b.cells.submitted - a.cells.submitted)[0];
  assert.equal(item.next.level, 'item');
  const q = new URLSearchParams({ level: 'item', ...item.next.params }).toString();
  const cases = await ok('supervisor', `/api/v1/dash/services?${q}`);
  assert.equal(cases.level, 'item');
  assert.equal(cases.rows.length, item.cells.submitted, 'one row per case');
  assert.deepEqual(cases.crumbs.map((c) => c.level), ['city', 'county', 'town', 'item']);
  for (const r of cases.rows) {
    assert.match(r.link, /^\/cases\/\d+$/);
    assert.equal(r.next, null);
    assert.match(r.cells.case_no, /^ZS\d+/);
  }
  // No personal data: no applicant names, ID numbers or phones anywhere in the answer.
  const text = JSON.stringify(cases);
  assert.doesNotMatch(text, /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/, 'no ID numbers');
  assert.doesNotMatch(text, /(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])/, 'no phone numbers');
  const ids = cases.rows.map((r) => Number(r.link.split('/')[2])).join(',');
  const people = dbQuery(srv.dbPath, `SELECT DISTINCT u.display_name FROM cases c JOIN users u ON u.id = c.applicant_id WHERE c.id IN (${ids})`)
    .split('\n').filter(Boolean);
  assert.ok(people.length > 0);
  for (const name of people) assert.ok(!text.includes(name), `applicant name ${name} must not appear`);
  assert.ok(!/"form"|id_number|phone|applicant/.test(text), 'no form fields');
});

test('exports: CSV with a BOM and Chinese headers, Excel a workbook with the sheet', async () => {
  const csv = await srv.req('GET', '/api/v1/dash/services.csv', { auth: s.supervisor });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  assert.match(csv.headers.get('content-disposition'), /attachment; filename="isle-city-[\d-]+_[\d-]+\.csv"/);
  const bytes = Buffer.from(await (await fetch(`${srv.base}/api/v1/dash/services.csv`, { headers: { Authorization: `Bearer ${s.supervisor.token}` } })).arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM for Excel');
  const lines = bytes.subarray(3).toString('utf8').trim().split(/\r?\n/);
  assert.match(lines[0], /^县区,办件量/);
  assert.ok(lines[0].includes('一网通办率'));
  const city = await ok('supervisor', '/api/v1/dash/services');
  assert.equal(lines.length, 1 + city.rows.length, 'header + one line per row');

  const town = city.rows[0];
  const res = await fetch(`${srv.base}/api/v1/dash/services.xlsx?level=county&county=${encodeURIComponent(town.key)}`, {
    headers: { Authorization: `Bearer ${s.supervisor.token}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /spreadsheetml/);
  const zip = unzip(Buffer.from(await res.arrayBuffer()));
  assert.ok(zip.has('xl/workbook.xml'));
  const sheet = zip.get('xl/worksheets/sheet1.xml');
  assert.ok(sheet, 'the sheet');
  const strings = (zip.get('xl/sharedStrings.xml') || '') + sheet;
  for (const label of ['乡镇', '办件量', '一网通办率', '材料免提交率']) assert.ok(strings.includes(label), `header ${label}`);
  assert.match(sheet, /<row r="3"/, 'the header row under the title');
});

/** The entries of a zip (stored or deflated) as name → text. */
function unzip(buf) {
  assert.equal(buf.readUInt32LE(0), 0x04034b50, 'a zip file');
  const out = new Map();
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'end of central directory');
  const n = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < n; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + csize);
    out.set(name, (method === 8 ? zlib.inflateRawSync(data) : data).toString('utf8'));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

test('report: the year adds up (months = cases, kinds = amount)', async () => {
  const year = new Date().getUTCFullYear();
  const r = await ok('supervisor', `/api/v1/dash/report?year=${year}`);
  assert.equal(r.year, year);
  const svc = r.sections.services;
  assert.equal(svc.by_month.reduce((a, m) => a + m.submitted, 0), svc.counts.submitted, 'Σ months = cases');
  assert.equal(r.indicators.online_rate.unit, '%');
  for (const [id, v] of Object.entries(r.indicators)) {
    for (const k of ['name', 'value', 'unit', 'target']) assert.ok(k in v, `${id}.${k}`);
  }
  const t = r.sections.trading;
  const fen = t.by_kind.reduce((a, k) => a + k.amount_fen, 0);
  assert.equal(Math.round(fen / 1e8) / 100, t.indicators['trade.amount'].value, 'Σ kinds = amount');
  assert.equal(t.by_month.reduce((a, m) => a + m.amount_fen, 0), fen, 'Σ months = Σ kinds');
  assert.equal(t.by_kind.reduce((a, k) => a + k.projects, 0), t.indicators['trade.projects'].value);
  assert.ok(r.sentences.length >= 3);
  const pdf = await fetch(`${srv.base}/api/v1/dash/report.pdf?year=${year}`, { headers: { Authorization: `Bearer ${s.supervisor.token}` } });
  assert.equal(pdf.status, 200);
  assert.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString(), '%PDF-');
});

/** n cases of a town submitted now through `channel`, each with its timeline row. */
function insertCases(town, n, channel, tag) {
  const [item, dept] = dbQuery(srv.dbPath, "SELECT code, department FROM catalog_items ORDER BY code LIMIT 1").split('|');
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  dbQuery(srv.dbPath, `INSERT INTO cases (case_no, kind, item_code, item_name, applicant_id, channel, department, town_code,
      status, form, submitted_at, created_at, updated_at)
    WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ${n})
    SELECT 'ZSDASH${tag}' || CAST(i AS TEXT), 'item', '${item}', '测试事项', (SELECT id FROM users WHERE login = 'citizen'),
      '${channel}', '${dept}', '${town}', 'submitted', '{}', '${now}', '${now}', '${now}' FROM seq`);
  dbQuery(srv.dbPath, `INSERT INTO case_events (case_id, at, action, to_status)
    SELECT id, '${now}', 'submit', 'submitted' FROM cases WHERE case_no LIKE 'ZSDASH${tag}%'`);
}

function monitor() {
  const r = runIsle(['--db', srv.dbPath, 'dash', 'monitor']);
  assert.equal(r.status, 0, r.stderr);
  const m = /alerts: (\d+) opened, (\d+) resolved/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return { opened: Number(m[1]), resolved: Number(m[2]) };
}

test('无感监测: a town under 90% opens one alert, supervisors are told, it resolves', async () => {
  const o = await ok('supervisor', '/api/v1/dash/overview');
  const town = o.towns[o.towns.length - 1];
  monitor(); // settle whatever the demo data raises
  const before = (await ok('supervisor', '/api/v1/dash/alerts')).items.filter((a) => a.key === town.code);
  assert.equal(before.length, 0, 'no alert for the town yet');
  const unread = (await ok('supervisor', '/api/v1/me/notifications')).items?.length ?? 0;

  insertCases(town.code, 25, 'window', 'W');
  // The dashboards' answers are cached while the data stands still: new cases show at once.
  const again = await ok('supervisor', '/api/v1/dash/overview');
  assert.equal(again.services.counts.submitted, o.services.counts.submitted + 25, 'the overview sees the new cases');
  assert.equal(again.towns.find((x) => x.code === town.code).submitted, town.submitted + 25);
  const city = await ok('supervisor', '/api/v1/dash/services');
  assert.equal(sum(city.rows, 'submitted'), again.services.counts.submitted, 'the city level too');
  const first = monitor();
  assert.ok(first.opened >= 1, 'an alert opened');
  let alerts = (await ok('supervisor', '/api/v1/dash/alerts?status=open')).items.filter((a) => a.key === town.code);
  assert.equal(alerts.length, 1, 'one alert for the town');
  const a = alerts[0];
  assert.equal(a.indicator, 'online_rate');
  assert.equal(a.dim, 'town');
  assert.equal(a.key_name, town.name);
  assert.equal(a.target, 90);
  assert.ok(a.value < 90, `value ${a.value}`);
  assert.ok(a.sample >= 25);
  assert.match(a.period, /^\d{4}-\d\d$/);
  // The rows behind it: the town's items over the alert's month.
  const [y, m] = a.period.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  assert.equal(a.rows_link, `/dash/services?level=town&town=${town.code}&from=${a.period}-01&to=${a.period}-${last}`);
  const rows = await ok('supervisor', `/api/v1/dash/services?${a.rows_link.split('?')[1]}`);
  assert.equal(sum(rows.rows, 'submitted'), a.sample, 'the rows behind the alert add up to its sample');
  // The overview counts it.
  assert.ok((await ok('supervisor', '/api/v1/dash/overview')).alerts.open >= 1);

  // A second pass opens nothing new and tells nobody twice.
  monitor();
  alerts = (await ok('supervisor', '/api/v1/dash/alerts')).items.filter((x) => x.key === town.code);
  assert.equal(alerts.length, 1, 'still one alert');
  const notes = (await ok('supervisor', '/api/v1/me/notifications')).items;
  assert.ok(notes.length > unread, 'the supervisor was notified');
  const mine = notes.filter((n) => JSON.stringify(n).includes(town.name));
  assert.equal(mine.length, 1, `one notification naming ${town.name}: ${JSON.stringify(notes.slice(0, 3))}`);

  // Citizens do not see alerts.
  assert.equal((await get('citizen', '/api/v1/dash/alerts')).status, 403);

  // Back above 90%: online cases outweigh the window ones; the alert resolves.
  insertCases(town.code, 300, 'online', 'O');
  const fixed = monitor();
  assert.ok(fixed.resolved >= 1, 'resolved');
  const after1 = (await ok('supervisor', '/api/v1/dash/alerts?status=resolved')).items.filter((x) => x.key === town.code);
  assert.equal(after1.length, 1);
  assert.ok(after1[0].value >= 90);
  assert.ok(after1[0].resolved_at);
  assert.equal((await ok('supervisor', '/api/v1/dash/alerts?status=open')).items.filter((x) => x.key === town.code).length, 0);

  // The city's daily history has today.
  const h = await ok('supervisor', '/api/v1/dash/history?indicator=online_rate&days=30');
  assert.equal(h.items.length, 30);
  assert.ok(h.items.every((d) => /^\d{4}-\d\d-\d\d$/.test(d.day)));
});

async function newCase(item, submit) {
  const d = await srv.req('POST', '/api/v1/cases', {
    auth: s.citizen,
    json: { item_code: item, form: { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234' }, submit: false },
  });
  assert.equal(d.status, 201, d.text);
  const missing = d.json.materials.filter((m) => m.required && m.satisfied_by === 'none');
  if (missing.length) {
    const fd = new FormData();
    fd.append('file', new Blob([Buffer.from('%PDF-1.4\n%%EOF\n')]), 'scan.pdf');
    const up = await srv.req('POST', '/api/v1/uploads', { auth: s.citizen, body: fd });
    assert.equal(up.status, 201, up.text);
    const put = await srv.req('PUT', `/api/v1/cases/${d.json.id}`, {
      auth: s.citizen, json: { materials: missing.map((m) => ({ idx: m.idx, by: 'upload', file_id: up.json.files[0].id })) },
    });
    assert.equal(put.status, 200, put.text);
  }
  if (submit) {
    const r = await srv.req('POST', `/api/v1/cases/${d.json.id}/actions/submit`, { auth: s.citizen });
    assert.equal(r.status, 200, r.text);
  }
  return d.json.id;
}

test('the figures summed from the per-day rollups equal the facts after live events', async () => {
  // Events through the API: a case submitted, accepted and approved; one submitted and
  // withdrawn; and a rating of the approved one (written as the ratings module would).
  const item = '330900-RS-200021';
  const decided = await newCase(item, true);
  s.approver ??= await srv.loginToken('approver');
  for (const [who, action] of [[s.staff, 'accept'], [s.approver, 'approve']]) {
    const r = await srv.req('POST', `/api/v1/cases/${decided}/actions/${action}`, { auth: who });
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
  const gone = await newCase(item, true);
  const w = await srv.req('POST', `/api/v1/cases/${gone}/actions/withdraw`, { auth: s.citizen });
  assert.equal(w.status, 200, w.text);
  const first = await ok('supervisor', '/api/v1/stats/services?by=town'); // the refresh runs
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  dbQuery(srv.dbPath, `INSERT INTO ratings (case_id, rater_id, department, item_code, channel, overall, dims, created_at)
    SELECT id, applicant_id, department, item_code, channel, 2, '{}', '${now}' FROM cases WHERE id = ${decided}`);
  const o = await ok('supervisor', '/api/v1/stats/services?by=town');
  assert.equal(o.counts.ratings, first.counts.ratings + 1, 'the new rating counts');
  // The same figures straight from the facts, with the window's own instants.
  const { from_at: a, to_at: b } = o.window;
  const direct = (sql) => Object.fromEntries(dbQuery(srv.dbPath, sql).split('\n').filter(Boolean)
    .map((l) => { const [k, ...v] = l.split('|'); return [k, v.map(Number)]; }));
  const sub = direct(`SELECT COALESCE(town_code, ''), COUNT(*), SUM(online) FROM stats_cases
    WHERE submitted_at >= '${a}' AND submitted_at < '${b}' GROUP BY COALESCE(town_code, '')`);
  const dec = direct(`SELECT COALESCE(town_code, ''), COUNT(*), SUM(CAST(ROUND(working_days * 100) AS BIGINT)),
    SUM(same_day) FROM stats_cases WHERE decided_at >= '${a}' AND decided_at < '${b}' AND working_days IS NOT NULL
    GROUP BY COALESCE(town_code, '')`);
  const rat = direct(`SELECT COALESCE(s.town_code, ''), COUNT(*), SUM(r.overall) FROM ratings r
    JOIN stats_cases s ON s.case_id = r.case_id WHERE r.created_at >= '${a}' AND r.created_at < '${b}'
    GROUP BY COALESCE(s.town_code, '')`);
  assert.ok(o.groups.length >= 30);
  for (const g of o.groups) {
    const f = Object.fromEntries(g.indicators.map((i) => [i.id, i]));
    const [n = 0, online = 0] = sub[g.key] || [];
    const [k = 0, h = 0, same = 0] = dec[g.key] || [];
    const [r = 0, overall = 0] = rat[g.key] || [];
    assert.deepEqual(
      [g.counts.submitted, f.online_rate.numerator ?? 0, g.counts.decided,
        Math.round((f.avg_working_days.numerator ?? 0) * 100), f.instant_rate.numerator ?? 0,
        g.counts.ratings, f.rating_avg.numerator ?? 0],
      [n, online, k, h, same, r, overall], `town ${g.key}`);
  }
  // The dashboards read the same rollups: the city level adds up to the facts.
  const city = await ok('supervisor', '/api/v1/dash/services');
  assert.equal(sum(city.rows, 'submitted'), Object.values(sub).reduce((x, v) => x + v[0], 0));
});

test('live: a new case reaches SSE topic "dash" within 2 s', async () => {
  const sub = await sseSubscribe(srv.base, 'dash', { Authorization: `Bearer ${s.supervisor.token}` });
  try {
    assert.equal(sub.res.status, 200);
    await new Promise((r) => setTimeout(r, 500)); // let the tick settle on the current state
    const t0 = Date.now();
    const n0 = sub.events.length; // only an event after the case counts
    const r = await srv.req('POST', '/api/v1/cases', {
      auth: s.citizen,
      json: { item_code: '330900-GA-100001', form: { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234', baby_name: '张小舟', baby_sex: '女', birth_date: '2026-11-20', birth_place: '舟山医院', follow: '随母' }, submit: false },
    });
    assert.equal(r.status, 201, r.text);
    // The new case's timeline row (create) is what the dashboard tick notices.
    assert.equal(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM case_events WHERE case_id = ${r.json.id}`), '1');
    const ev = await sub.next((e) => e.event === 'changed' && sub.events.indexOf(e) >= n0, 2000);
    assert.ok(Date.now() - t0 < 2500);
    assert.ok(JSON.parse(ev.data).streams.includes('cases'), ev.data);
  } finally {
    await sub.close();
  }
  // Without a login the topic is closed.
  const anon = await fetch(`${srv.base}/api/v1/events/dash`, { headers: { Accept: 'text/event-stream' } });
  assert.equal(anon.status, 401);
  await anon.body?.cancel();
});
