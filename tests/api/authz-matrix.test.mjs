// Authorization matrix: every route of the HTTP API × anonymous and every role.
//
// The routes are read from the C route tables (src/api/api_*.c) with a regex, so a
// route added there is covered here without editing this file; the roles expression
// of each entry is evaluated from the ROLE_* bits (src/auth/roles.h), the ROUTE_*
// flags (src/http/http.h) and the file's own #defines. For each route and caller:
//   - never a 5xx, never a dropped connection;
//   - a caller whose role the table does not allow gets 401 (anonymous) or 403;
//   - anonymous gets 401 on every non-public route (which also proves the parsed
//     route is really served: an unknown /api/ path is 404).
// Then ownership rules beyond the role bits, each as the handler states it: cases,
// assisted requests and proofs of another citizen; bids, deposits and receipts of
// another company; the panel and report of a tender the expert is not drawn for;
// screening (防围串标) for bidders; ID numbers in the dashboards' drill-down; the
// town scope of window staff on proofs; notifications. And two holes this file found
// (fixed): the dashboards' SSE feed open to any login, and a tender notice publishing
// another user's upload at a public address.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { GLOBAL_NAMES, ROLE_BITS, parseRoutes } from './routes.mjs';
import { DEMO_USERS, PASSWORD, ROOT, dbQuery, startServer, uniq } from './server.mjs';

// ---------------------------------------------------------------- route tables
// Parsed by routes.mjs (shared with bad-input.test.mjs).

const { routes: ROUTES, tables: TABLES } = parseRoutes();
const PUBLIC = Number(GLOBAL_NAMES.ROUTE_PUBLIC);
const UPLOAD = Number(GLOBAL_NAMES.ROUTE_UPLOAD);

// ---------------------------------------------------------------- the server

let srv;
const S = {}; // login → session {cookie, csrf, user}
const ids = {}; // objects the matrix and the ownership tests use
let citizen2, townStaff, provider;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const q1 = (sql) => dbQuery(srv.dbPath, sql).split('\n')[0] || '';

/** A request as auth (a session or null), cookie + CSRF token like the browser.
 *  SSE answers are cut after their headers. Never throws: a transport failure is
 *  {status: 0, error}. */
async function send(method, p, { auth, json, body, headers = {} } = {}) {
  const h = { ...headers };
  if (json !== undefined) { body = JSON.stringify(json); h['Content-Type'] = 'application/json'; }
  if (auth?.cookie) h.Cookie = auth.cookie;
  if (auth?.csrf && method !== 'GET') h['X-CSRF-Token'] = auth.csrf;
  if (auth?.token) h.Authorization = `Bearer ${auth.token}`;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 20000);
  try {
    const res = await fetch(srv.base + p, { method, headers: h, body, redirect: 'manual', signal: ac.signal });
    const type = res.headers.get('content-type') || '';
    let text = '';
    if (/event-stream/.test(type)) ac.abort();
    else text = /json|text|csv|xml|pem/.test(type) || !type ? await res.text() : Buffer.from(await res.arrayBuffer()).toString('latin1');
    let parsed;
    try { parsed = text && /json/.test(type) ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
    return { status: res.status, type, text, json: parsed };
  } catch (e) {
    return { status: 0, text: '', error: String(e && (e.cause?.code || e.message || e)) };
  } finally {
    clearTimeout(timer);
  }
}

/** A cookie session: {login, cookie, csrf, user}; waits out the login rate limit. */
async function session(l, pw = PASSWORD) {
  for (;;) {
    const res = await fetch(`${srv.base}/api/v1/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: l, password: pw }),
    });
    const j = await res.json().catch(() => ({}));
    if (res.status === 429) { await sleep(2000); continue; }
    assert.equal(res.status, 200, `login ${l}: ${JSON.stringify(j)}`);
    const c = res.headers.getSetCookie().find((x) => x.startsWith('isle_session='));
    return { login: l, cookie: c.split(';')[0], csrf: j.csrf_token, user: j.user };
  }
}

async function mkUser(role, extra = {}) {
  const l = `az${role.slice(0, 4)}${uniq()}`.slice(0, 30);
  const r = await send('POST', '/api/v1/users', {
    auth: S.admin, json: { login: l, password: PASSWORD, role, display_name: `测试${role}`, ...extra },
  });
  assert.equal(r.status, 201, r.text);
  return session(l);
}

before(async () => {
  // The signed callbacks and face verification answer 503 until configured: give
  // them secrets and a stand-in identity provider so the handlers behind are reached.
  provider = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ session_id: `S-${uniq()}`, url: 'https://face.example.cn/s/1' }));
    });
  });
  await new Promise((r) => provider.listen(0, '127.0.0.1', r));
  srv = await startServer({
    env: {
      ISLE_SMS_SECRET: 'authz-sms-secret', ISLE_IDV_SECRET: 'authz-idv-secret',
      ISLE_IDV_URL: `http://127.0.0.1:${provider.address().port}/sessions`, ISLE_IDV_TIMEOUT_MS: '2000',
    },
  });
  for (const u of DEMO_USERS) S[u] = await session(u);
  citizen2 = await mkUser('citizen', { town_code: '330902100' });
  // Window staff of the demo citizen's town (金塘镇); the demo `staff` is in another town.
  townStaff = await mkUser('staff', { town_code: '330902100' });

  ids.case = q1('SELECT MIN(id) FROM cases');
  ids.assist = q1('SELECT MIN(id) FROM assist_requests');
  ids.licence = q1('SELECT MIN(id) FROM licences');
  ids.station = q1('SELECT MIN(id) FROM stations');
  ids.agent = q1('SELECT MIN(id) FROM agents') || '1';
  ids.bundle = q1('SELECT MIN(code) FROM catalog_bundles') || 'X';
  ids.ticket = q1('SELECT MIN(id) FROM rating_tickets') || '1';
  ids.caRoot = q1('SELECT MIN(id) FROM ca_roots') || '1';
  ids.tender = q1("SELECT MIN(id) FROM tenders WHERE status = 'evaluation'");
  ids.bid = q1(`SELECT MIN(id) FROM bids WHERE tender_id = ${ids.tender}`);
  ids.expert = q1('SELECT MIN(id) FROM experts') || '1';
  ids.user = String(S.citizen.user.id);
  for (const [k, v] of Object.entries(ids)) assert.ok(v, `demo has a ${k}`);
});

after(async () => {
  if (srv) await srv.stop();
  provider?.close();
});

// ---------------------------------------------------------------- the matrix

const ITEM = '330900-GA-100001';

/** The pattern with every {param} filled: an existing object of the demo where the
 *  path says which, a plausible value otherwise. */
function fill(pattern) {
  const by = [
    [/^\/api\/v1\/stations\//, { id: () => ids.station }],
    [/^\/api\/v1\/agents\//, { id: () => ids.agent }],
    [/^\/api\/v1\/assist\//, { id: () => ids.assist }],
    [/^\/api\/v1\/cases\//, { id: () => ids.case }],
    [/^\/api\/v1\/licences\//, { id: () => ids.licence }],
    [/^\/api\/v1\/users\//, { id: () => ids.user }],
    [/^\/api\/v1\/proofs\//, { id: () => ids.proof || '1' }],
    [/^\/api\/v1\/rating-tickets\//, { id: () => ids.ticket }],
    [/^\/api\/v1\/trade\/tenders\//, { id: () => ids.tender }],
    [/^\/api\/v1\/trade\/bids\//, { id: () => ids.bid }],
    [/^\/api\/v1\/trade\/experts\//, { id: () => ids.expert }],
    [/^\/api\/v1\/ca\/roots\//, { id: () => ids.caRoot }],
    [/^\/api\/v1\/bundles\//, { code: () => ids.bundle }],
    [/^\/api\/v1\/events\//, { topic: () => 'dash' }],
  ];
  const generic = { code: ITEM, file: `${ITEM}.json`, action: 'no-such-action', idx: '0', no: 'ZM0000000000', fid: '1', oid: '1', id: '1' };
  return pattern.replace(/\{\*?(\w+)\}/g, (_, name) => {
    for (const [re, m] of by) if (re.test(pattern) && m[name]) return encodeURIComponent(m[name]());
    return encodeURIComponent(generic[name] ?? '1');
  });
}

const ID_NUMBER = /(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])/;
const SCREEN_WORDS = /"[^"]*(screen|collu|alert|围串|串标)[^"]*"\s*:/i;

test('the route tables parse and every gathered table is read', () => {
  const gathered = [...fs.readFileSync(path.join(ROOT, 'src/api/api.c'), 'utf8').matchAll(/GATHER\((\w+)\)/g)].map((m) => m[1]).filter((n) => n !== 'name');
  assert.ok(gathered.length > 20, 'api.c gathers the tables');
  for (const g of gathered) assert.ok(TABLES.includes(g), `table ${g}_routes was not found in src/api/`);
  assert.ok(ROUTES.length >= 150, `only ${ROUTES.length} routes parsed`);
  for (const r of ROUTES) {
    assert.ok(r.flags & PUBLIC || r.roles, `${r.method} ${r.pattern}: neither public nor any role`);
    assert.ok((r.roles & ~0x3ff) === 0, `${r.method} ${r.pattern}: unknown role bits`);
  }
  // The matrix below relies on the roles names matching the demo users.
  assert.deepEqual(Object.keys(ROLE_BITS).sort(), [...DEMO_USERS].sort());
});

// ---------------------------------------------------------------- ownership
// These run before the matrix (which ends the sessions and sends writes).

const BIRTH_FORM = {
  name: '张阿婆', id_number: '330902195203140021', phone: '13905801234',
  baby_name: '张小舟', baby_sex: '女', birth_date: '2026-11-20', birth_place: '舟山医院', follow: '随母',
};

/** The answer must not be a success and must not carry the object. */
function denied(r, what, statuses = [403, 404]) {
  assert.ok(statuses.includes(r.status), `${what}: got ${r.status} ${r.text.slice(0, 200)}`);
}

test("a citizen cannot read or touch another citizen's application", async () => {
  const c = await send('POST', '/api/v1/cases', { auth: S.citizen, json: { item_code: ITEM, form: BIRTH_FORM, submit: false } });
  assert.equal(c.status, 201, c.text);
  const id = c.json.id;
  ids.case = String(id);
  assert.equal((await send('GET', `/api/v1/cases/${id}`, { auth: S.citizen })).status, 200);
  for (const [who, auth] of [['citizen2', citizen2], ['company', S.company], ['agent', S.agent], ['bidder', S.bidder]]) {
    denied(await send('GET', `/api/v1/cases/${id}`, { auth }), `${who} GET case`);
    denied(await send('PUT', `/api/v1/cases/${id}`, { auth, json: { form: BIRTH_FORM } }), `${who} PUT case`);
    denied(await send('POST', `/api/v1/cases/${id}/actions/submit`, { auth, json: {} }), `${who} submit case`);
    denied(await send('POST', `/api/v1/cases/${id}/notes`, { auth, json: { text: '看看' } }), `${who} note`, [400, 403, 404]);
    denied(await send('GET', `/api/v1/cases/${id}/materials/0/file`, { auth }), `${who} material`);
    denied(await send('GET', `/api/v1/cases/${id}/rating`, { auth }), `${who} rating`);
    const list = await send('GET', '/api/v1/cases?limit=100', { auth });
    assert.equal(list.status, 200, list.text);
    assert.ok(!list.text.includes('"330902195203140021"'), `${who}'s case list shows another person's ID number`);
    for (const it of list.json.items || []) assert.notEqual(it.id, id, `${who}'s list includes the case`);
  }
  // The case is still the owner's draft, untouched.
  const again = await send('GET', `/api/v1/cases/${id}`, { auth: S.citizen });
  assert.equal(again.json.status, 'draft');
});

test("a citizen cannot see another citizen's assisted request", async () => {
  const r = await send('POST', '/api/v1/assist', {
    auth: S.citizen, json: { village_code: '330903100204', description: '帮我办医保转移' },
  });
  assert.equal(r.status, 201, r.text);
  const id = r.json.id;
  for (const [who, auth] of [['citizen2', citizen2], ['company', S.company], ['bidder', S.bidder], ['approver', S.approver]]) {
    denied(await send('GET', `/api/v1/assist/${id}`, { auth }), `${who} GET assist`);
    denied(await send('POST', `/api/v1/assist/${id}/actions/cancel`, { auth, json: {} }), `${who} cancel assist`, [400, 403, 404]);
    denied(await send('POST', `/api/v1/assist/${id}/consent`, { auth, json: {} }), `${who} consent`, [400, 403, 404]);
    denied(await send('POST', `/api/v1/assist/${id}/notes`, { auth, json: { text: 'x' } }), `${who} note`, [400, 403, 404]);
    const list = await send('GET', '/api/v1/assist', { auth });
    assert.ok(list.status === 200 || list.status === 403, list.text);
    for (const it of list.json?.items || []) assert.notEqual(it.id, id, `${who}'s list includes the request`);
  }
  const still = await send('GET', `/api/v1/assist/${id}`, { auth: S.citizen });
  assert.equal(still.status, 200);
  assert.notEqual(still.json.status, 'cancelled');
});

test('proofs: the holder, the staff of their town and the approvers; nobody else', async () => {
  const r = await send('POST', '/api/v1/proofs', {
    auth: S.citizen, json: { kind: 'residence', purpose: '办理银行开户', details: '本人居住在沥港社区。', village_code: '330902100002' },
  });
  assert.equal(r.status, 201, r.text);
  const id = r.json.proof.id;
  ids.proof = String(id);
  for (const [who, auth] of [['citizen2', citizen2], ['company', S.company], ['agent', S.agent],
    ['staff of another town', S.staff], ['supervisor', S.supervisor], ['bidder', S.bidder]]) {
    denied(await send('GET', `/api/v1/proofs/${id}`, { auth }), `${who} GET proof`);
    denied(await send('GET', `/api/v1/proofs/${id}/pdf`, { auth }), `${who} GET proof pdf`, [403, 404, 409]);
    const list = await send('GET', '/api/v1/proofs?limit=100', { auth });
    assert.equal(list.status, 200, list.text);
    for (const it of list.json.items) assert.notEqual(it.id, id, `${who}'s list includes the proof`);
  }
  denied(await send('POST', `/api/v1/proofs/${id}/actions/village_check`, { auth: S.staff, json: {} }), 'staff of another town checks', [400, 403, 404]);
  // The window of the citizen's own town (金塘镇) sees it and only its town.
  assert.equal((await send('GET', `/api/v1/proofs/${id}`, { auth: townStaff })).status, 200);
  const q = await send('GET', '/api/v1/proofs?limit=100', { auth: townStaff });
  assert.ok(q.json.items.some((it) => it.id === id));
  for (const it of q.json.items) assert.equal(it.town_code, '330902100');
  const other = await send('GET', '/api/v1/proofs?limit=100&town=330902006', { auth: townStaff });
  assert.equal(other.status, 200);
  for (const it of other.json.items) assert.equal(it.town_code, '330902100', 'a town filter cannot widen the scope');
  assert.equal((await send('GET', `/api/v1/proofs/${id}`, { auth: S.approver })).status, 200);
  assert.equal((await send('GET', `/api/v1/proofs/${id}`, { auth: S.citizen })).status, 200);
});

test("a bidder or company never sees another company's sealed bids, receipts or deposits", async () => {
  // An announced tender (its bids, if any, are sealed: the demo seals them only where
  // it can store the files) and the opened bids of the tender in evaluation.
  const sealed = q1("SELECT t.id FROM tenders t WHERE t.status = 'announced' ORDER BY (SELECT COUNT(*) FROM bids b WHERE b.tender_id = t.id) DESC, t.id LIMIT 1");
  assert.ok(sealed, 'demo has an announced tender');
  const sealedBids = dbQuery(srv.dbPath, `SELECT id FROM bids WHERE tender_id = ${sealed}`).split('\n').filter(Boolean).map(Number);
  const openedBids = dbQuery(srv.dbPath, `SELECT id FROM bids WHERE tender_id = ${ids.tender} ORDER BY id LIMIT 4`).split('\n').filter(Boolean).map(Number);
  assert.ok(openedBids.length, 'the tender in evaluation has bids');
  const bidIds = [...sealedBids, ...openedBids];
  for (const who of ['bidder', 'company']) {
    const auth = S[who];
    const mineCo = Number(q1(`SELECT company_id FROM trade_company_users WHERE user_id = ${auth.user.id}`) || 0);
    const list = await send('GET', `/api/v1/trade/tenders/${sealed}/bids`, { auth });
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.public, false);
    for (const b of list.json.items) assert.equal(b.company_id, mineCo, `${who} sees a bid of company ${b.company_id}`);
    for (const b of bidIds) {
      if (Number(q1(`SELECT company_id FROM bids WHERE id = ${b}`)) === mineCo) continue;
      denied(await send('GET', `/api/v1/trade/bids/${b}/receipt`, { auth }), `${who} receipt of bid ${b}`);
    }
    const dep = await send('GET', `/api/v1/trade/tenders/${sealed}/deposits`, { auth });
    assert.ok(dep.status === 200 || dep.status === 403, dep.text);
    for (const d of dep.json?.items || []) assert.equal(d.company_id, mineCo, `${who} sees the deposit of company ${d.company_id}`);
    const certs = await send('GET', '/api/v1/trade/certs/me', { auth });
    assert.equal(certs.status, 200, certs.text);
    const theirs = dbQuery(srv.dbPath, `SELECT serial FROM trade_certs WHERE company_id <> ${mineCo || -1}`).split('\n').filter(Boolean);
    for (const serial of theirs.slice(0, 200)) assert.ok(!certs.text.includes(serial), `${who} sees certificate ${serial}`);
    const me = await send('GET', '/api/v1/trade/companies/me', { auth });
    assert.ok(me.status === 200 || me.status === 404, me.text);
    if (me.status === 200) assert.ok(!JSON.stringify(me.json).includes(q1(`SELECT uscc FROM trade_companies WHERE id <> ${mineCo || -1} LIMIT 1`)));
    denied(await send('GET', '/api/v1/trade/companies', { auth }), `${who} lists all companies`, [403]);
  }
  // Before the opening even supervisors do not see the sealed bids' receipts.
  if (sealedBids.length) denied(await send('GET', `/api/v1/trade/bids/${sealedBids[0]}/receipt`, { auth: S.supervisor }), 'supervisor sealed receipt');
});

test('an expert sees neither the panel nor the report of a tender they are not drawn for', async () => {
  const expertId = q1(`SELECT id FROM experts WHERE user_id = ${S.expert.user.id}`);
  assert.ok(expertId, 'the demo expert has an expert record');
  const t = q1(`SELECT id FROM tenders WHERE status = 'evaluation' AND id NOT IN (SELECT tender_id FROM tender_experts WHERE expert_id = ${expertId}) ORDER BY id LIMIT 1`);
  assert.ok(t, 'a tender in evaluation without the demo expert');
  denied(await send('GET', `/api/v1/trade/tenders/${t}/experts`, { auth: S.expert }), 'expert panel', [403]);
  denied(await send('GET', `/api/v1/trade/tenders/${t}/evaluation/report`, { auth: S.expert }), 'expert report', [403, 409]);
  denied(await send('GET', `/api/v1/trade/tenders/${t}/evaluation/report.pdf`, { auth: S.expert }), 'expert report pdf', [403, 409]);
  denied(await send('PUT', `/api/v1/trade/tenders/${t}/scores`, { auth: S.expert, json: { scores: [] } }), 'expert scores', [400, 403]);
  denied(await send('POST', `/api/v1/trade/tenders/${t}/scores/submit`, { auth: S.expert, json: {} }), 'expert submit', [403]);
  const ev = await send('GET', `/api/v1/trade/tenders/${t}/evaluation`, { auth: S.expert });
  assert.equal(ev.status, 200, ev.text);
  assert.equal(ev.json.view, 'public', 'a non-member gets the public view');
  // Nor does a bidder learn who the experts are before the report.
  denied(await send('GET', `/api/v1/trade/tenders/${t}/experts`, { auth: S.bidder }), 'bidder panel', [403]);
  const names = dbQuery(srv.dbPath, `SELECT x.name FROM tender_experts t JOIN experts x ON x.id = t.expert_id WHERE t.tender_id = ${t}`).split('\n').filter(Boolean);
  for (const who of [null, 'bidder', 'company', 'expert']) {
    const r = await send('GET', `/api/v1/trade/tenders/${t}`, { auth: who ? S[who] : null });
    const e = await send('GET', `/api/v1/trade/tenders/${t}/evaluation`, { auth: who ? S[who] : null });
    for (const n of names) assert.ok(!r.text.includes(n) && !e.text.includes(n), `${who || 'anonymous'} learns panel member ${n}`);
  }
});

test('bidders never see screening (防围串标) results or alerts', async () => {
  const run = await send('POST', '/api/v1/screen/run', { auth: S.supervisor, json: {} });
  assert.equal(run.status, 200, run.text);
  const alert = q1('SELECT MIN(id) FROM screen_alerts') || '1';
  const tender = q1('SELECT MIN(tender_id) FROM screen_alerts') || ids.tender;
  for (const who of ['bidder', 'company', 'expert', 'citizen', 'trading_staff', 'staff']) {
    const auth = S[who];
    for (const p of ['/api/v1/screen/alerts', `/api/v1/screen/alerts/${alert}`, '/api/v1/screen/cases', '/api/v1/screen/cases/1',
      '/api/v1/screen/cases/1/dossier.pdf']) {
      denied(await send('GET', p, { auth }), `${who} GET ${p}`, [403]);
    }
    denied(await send('POST', '/api/v1/screen/run', { auth, json: {} }), `${who} runs screening`, [403]);
  }
  for (const who of ['bidder', 'company']) {
    for (const p of [`/api/v1/trade/tenders/${tender}`, `/api/v1/trade/tenders/${tender}/evaluation`, `/api/v1/trade/tenders/${tender}/hall`,
      `/api/v1/trade/tenders/${tender}/bids`, '/api/v1/trade/tenders', '/api/v1/trade/results', '/api/v1/me/notifications']) {
      const r = await send('GET', p, { auth: S[who] });
      assert.ok(r.status < 500, `${who} ${p}: ${r.status}`);
      assert.doesNotMatch(r.text, SCREEN_WORDS, `${who} ${p} carries screening data`);
    }
  }
});

test("the dashboards' drill-down down to the cases names no ID numbers, for every role allowed", async () => {
  for (const who of ['staff', 'approver', 'trading_staff', 'supervisor', 'admin']) {
    const auth = S[who];
    let r = await send('GET', '/api/v1/dash/services', { auth });
    assert.equal(r.status, 200, `${who}: ${r.text}`);
    const seen = [r.text];
    // Follow the busiest row down every level to the last one (the cases).
    for (let depth = 0; depth < 6; depth++) {
      const rows = (r.json.rows || []).filter((x) => x.next).sort((a, b) => (b.cells.submitted || 0) - (a.cells.submitted || 0));
      if (!rows.length) break;
      const q = new URLSearchParams({ level: rows[0].next.level, ...rows[0].next.params }).toString();
      r = await send('GET', `/api/v1/dash/services?${q}`, { auth });
      assert.equal(r.status, 200, r.text);
      seen.push(r.text);
      const csv = await send('GET', `/api/v1/dash/services.csv?${q}`, { auth });
      assert.equal(csv.status, 200);
      seen.push(csv.text);
    }
    assert.ok(r.json.rows.some((x) => /^\/cases\/\d+$/.test(x.link || '')), `${who} reached the cases level`);
    for (const t of seen) assert.doesNotMatch(t, ID_NUMBER, `${who}: an ID number in the drill-down`);
  }
});

test("the dashboards' live feed (SSE topic dash) is for the dashboards' roles only", async () => {
  // It tells when cases, bids and 无感监测 alerts move: not for citizens or bidders.
  for (const who of DEMO_USERS) {
    const r = await send('GET', '/api/v1/events/dash', { auth: S[who], headers: { Accept: 'text/event-stream' } });
    const may = ['staff', 'approver', 'trading_staff', 'supervisor', 'admin'].includes(who);
    assert.equal(r.status, may ? 200 : 403, `${who}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  assert.equal((await send('GET', '/api/v1/events/dash')).status, 401);
  // An agent's task channel stays theirs and the desk's.
  assert.equal((await send('GET', '/api/v1/events/agent.1', { auth: S.citizen })).status, 403);
});

test("trading staff cannot publish someone else's upload as a tender file", async () => {
  // A citizen's upload (an ID card scan for a case) must not become a public tender
  // document: /api/v1/trade/tenders/{id}/files/{fid} is open to anyone.
  const fd = new FormData();
  fd.append('file', new Blob(['%PDF-1.4\n身份证 330902195203140021\n%%EOF\n']), '身份证.pdf');
  const up = await send('POST', '/api/v1/uploads', { auth: S.citizen, body: fd });
  assert.equal(up.status, 201, up.text);
  const theirs = up.json.files[0].id;
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const dl = Date.now() + 30 * 86400000;
  const t = await send('POST', '/api/v1/trade/tenders', {
    auth: S.trading_staff,
    json: {
      kind: 'works', title: `鉴权测试工程 ${uniq()}`, buyer: '舟山市定海区人民政府', budget: '1000000.00', deposit: '20000',
      method: 'lowest_price', lots: [{ name: '主体', budget: '1000000' }],
      questions_until: iso(dl - 3 * 86400000), deadline_at: iso(dl), evaluation_at: iso(dl + 7200000),
    },
  });
  assert.equal(t.status, 201, t.text);
  const a = await send('POST', `/api/v1/trade/tenders/${t.json.id}/announce`, { auth: S.trading_staff, json: { files: [theirs] } });
  assert.equal(a.status, 400, `announce with a citizen's file: ${a.status} ${a.text.slice(0, 200)}`);
  assert.equal(a.json.error.field, 'files');
  denied(await send('GET', `/api/v1/trade/tenders/${t.json.id}/files/${theirs}`), 'anonymous download', [404]);
  // The staff's own upload is still fine.
  const fd2 = new FormData();
  fd2.append('file', new Blob(['%PDF-1.4\n招标文件\n%%EOF\n']), '招标文件.pdf');
  const own = await send('POST', '/api/v1/uploads', { auth: S.trading_staff, body: fd2 });
  assert.equal(own.status, 201, own.text);
  const ok = await send('POST', `/api/v1/trade/tenders/${t.json.id}/announce`, { auth: S.trading_staff, json: { files: [own.json.files[0].id] } });
  assert.equal(ok.status, 200, ok.text);
  const n = await send('POST', `/api/v1/trade/tenders/${t.json.id}/notices`, {
    auth: S.trading_staff, json: { kind: 'clarification', title: '澄清', body: '附件', files: [theirs] },
  });
  assert.equal(n.status, 400, `notice with a citizen's file: ${n.status} ${n.text.slice(0, 200)}`);
  assert.equal(n.json.error.field, 'files');
  denied(await send('GET', `/api/v1/trade/tenders/${t.json.id}/files/${theirs}`), 'anonymous download', [404]);
});

test("nobody reads or marks another user's notifications", async () => {
  const n = q1(`SELECT MIN(id) FROM notifications WHERE user_id = ${S.citizen.user.id}`);
  assert.ok(n, 'the citizen has a notification (from the proof above)');
  for (const auth of [citizen2, S.staff, S.admin]) {
    denied(await send('POST', `/api/v1/me/notifications/${n}/read`, { auth, json: {} }), 'mark read', [404]);
    const list = await send('GET', '/api/v1/me/notifications?limit=100', { auth });
    assert.equal(list.status, 200, list.text);
    for (const it of list.json.items) assert.notEqual(String(it.id), n);
  }
  assert.equal(q1(`SELECT read_at IS NULL FROM notifications WHERE id = ${n}`).replace('t', '1'), '1', 'still unread');
});

test('every route × anonymous and every role: no 5xx, and the role table is enforced', { timeout: 110000 }, async () => {
  const callers = [null, ...DEMO_USERS];
  const failures = [];
  let checked = 0;
  // Logging out must come last: it ends the session the other requests use.
  const order = [...ROUTES].sort((a, b) => (a.method === 'DELETE' && a.pattern === '/api/v1/session') -
    (b.method === 'DELETE' && b.pattern === '/api/v1/session'));
  for (const rt of order) {
    const p = fill(rt.pattern);
    const write = rt.method !== 'GET';
    for (const who of callers) {
      const auth = who ? S[who] : null;
      const opts = { auth };
      if (write && !(rt.flags & UPLOAD)) opts.json = {};
      if (rt.flags & UPLOAD) { const fd = new FormData(); fd.append('x', 'y'); opts.body = fd; }
      const r = await send(rt.method, p, opts);
      checked++;
      const tag = `${who || 'anonymous'} ${rt.method} ${p} (${rt.file})`;
      const allowed = rt.flags & PUBLIC || (who && rt.roles & ROLE_BITS[who]);
      if (r.status === 0) failures.push(`${tag}: connection failed: ${r.error}`);
      else if (r.status >= 500) failures.push(`${tag}: ${r.status} ${r.text.slice(0, 200)}`);
      else if (!allowed && !who && r.status !== 401) failures.push(`${tag}: anonymous on a non-public route got ${r.status}, want 401`);
      else if (!allowed && who && r.status !== 403) failures.push(`${tag}: role not in the table got ${r.status}, want 403`);
      if (r.status === 200 && (!who || ['bidder', 'company', 'expert', 'citizen'].includes(who)) && SCREEN_WORDS.test(r.text)) {
        failures.push(`${tag}: screening data in the answer: ${r.text.match(SCREEN_WORDS)[0]}`);
      }
      if (r.status === 200 && !who && ID_NUMBER.test(r.text)) failures.push(`${tag}: an ID number in a public answer`);
      if (r.status === 200 && /^\/api\/v1\/(dash|stats|search|suggest|ocds)/.test(p) && ID_NUMBER.test(r.text)) {
        failures.push(`${tag}: an ID number in an aggregate answer: ${r.text.match(ID_NUMBER)[0].slice(0, 6)}…`);
      }
    }
  }
  assert.equal(checked, ROUTES.length * callers.length);
  assert.deepEqual(failures, [], `${failures.length} of ${checked} checks failed`);
  // The sessions ended above; the server is still up.
  assert.equal((await send('GET', '/healthz')).status, 200);
});
