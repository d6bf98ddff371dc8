// Bad input on every write route (and every GET route's query parameters): the API
// answers a clear 4xx JSON error, never a 5xx, a dropped connection, a hang or a
// half-written row.
//
// The routes come from the C route tables (routes.mjs); each route is called as the
// first demo role its table allows, with: bodies that are not JSON or not an object,
// an empty object, every field the handler declares or reads with a wrong type, 100 KB,
// a NUL, a lone surrogate, negative / huge / fractional numbers, 10,000-deep arrays; a
// body over the server's JSON cap (1 MiB → 413); path ids 0, -1, abc, 20 digits, %00;
// and query parameters out of range. Where the handler checks a jsonx_field spec, a
// wrong-type or too-long field must be answered 400 naming that field. After each
// route GET /healthz must answer, and for a sample of tables a rejected write must
// leave the row count unchanged.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { GLOBAL_NAMES, ROLE_BITS, handlerInfo, parseRoutes } from './routes.mjs';
import { DEMO_USERS, PASSWORD, dbQuery, isPg, startServer } from './server.mjs';

const { routes: ROUTES } = parseRoutes();
const UPLOAD = Number(GLOBAL_NAMES.ROUTE_UPLOAD);
const PUBLIC = Number(GLOBAL_NAMES.ROUTE_PUBLIC);
const JSON_MAX = 1024 * 1024; // src/http/server.c: config.json_body_max default

let srv, provider;
const S = {};
const ids = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const q1 = (sql) => dbQuery(srv.dbPath, sql).split('\n')[0] || '';

async function login(l) {
  for (;;) {
    const res = await fetch(`${srv.base}/api/v1/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login: l, password: PASSWORD }),
    });
    const j = await res.json().catch(() => ({}));
    if (res.status === 429) { await sleep(1000); continue; }
    assert.equal(res.status, 200, `login ${l}: ${JSON.stringify(j)}`);
    const c = res.headers.getSetCookie().find((x) => x.startsWith('isle_session='));
    S[l] = { login: l, cookie: c.split(';')[0], csrf: j.csrf_token, user: j.user };
    return S[l];
  }
}

/** One request; never throws: a transport failure or a hang (10 s) is status 0. */
async function send(method, p, { who, body, type = 'application/json' } = {}) {
  const h = {};
  if (body !== undefined && type) h['Content-Type'] = type;
  const auth = who ? S[who] : null;
  if (auth) { h.Cookie = auth.cookie; if (method !== 'GET') h['X-CSRF-Token'] = auth.csrf; }
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10000);
  try {
    const res = await fetch(srv.base + p, { method, headers: h, body, redirect: 'manual', signal: ac.signal });
    const ctype = res.headers.get('content-type') || '';
    let text = '';
    if (/event-stream/.test(ctype)) ac.abort();
    else text = Buffer.from(await res.arrayBuffer()).toString('utf8');
    let json;
    try { json = /json/.test(ctype) ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, type: ctype, text, json };
  } catch (e) {
    return { status: 0, type: '', text: '', error: String(e?.cause?.code || e?.message || e) };
  } finally {
    clearTimeout(timer);
  }
}

before(async () => {
  // The signed callbacks and face verification answer 503 until configured: give
  // them secrets and a stand-in identity provider so the handlers behind are reached.
  provider = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ session_id: `S-${Date.now()}-${Math.random()}`, url: 'https://face.example.cn/s/1' }));
    });
  });
  await new Promise((r) => provider.listen(0, '127.0.0.1', r));
  srv = await startServer({
    env: {
      ISLE_SMS_SECRET: 'bad-input-sms-secret', ISLE_IDV_SECRET: 'bad-input-idv-secret',
      ISLE_IDV_URL: `http://127.0.0.1:${provider.address().port}/sessions`, ISLE_IDV_TIMEOUT_MS: '2000',
    },
  });
  for (const u of DEMO_USERS) await login(u);
  ids.case = q1('SELECT MIN(id) FROM cases');
  ids.assist = q1('SELECT MIN(id) FROM assist_requests');
  ids.licence = q1('SELECT MIN(id) FROM licences');
  ids.station = q1('SELECT MIN(id) FROM stations');
  ids.agent = q1('SELECT MIN(id) FROM agents') || '1';
  ids.bundle = q1('SELECT MIN(code) FROM catalog_bundles') || 'X';
  ids.ticket = q1('SELECT MIN(id) FROM rating_tickets') || '1';
  ids.tender = q1("SELECT MIN(id) FROM tenders WHERE status = 'evaluation'");
  ids.bid = q1(`SELECT MIN(id) FROM bids WHERE tender_id = ${ids.tender}`);
  ids.expert = q1('SELECT MIN(id) FROM experts') || '1';
  // The /users/{id} routes (password reset, role change, …) act on a throwaway user,
  // not on a demo user whose session the test goes on using.
  const u = await send('POST', '/api/v1/users', { who: 'admin', body: JSON.stringify({ login: `bithrow${Date.now().toString(36)}`, password: PASSWORD, role: 'citizen', display_name: '坏输入测试' }) });
  assert.equal(u.status, 201, u.text);
  ids.user = String(u.json.user.id);
  ids.proof = q1('SELECT MIN(id) FROM proofs') || '1';
});

after(async () => { if (srv) await srv.stop(); provider?.close(); });

const ITEM = '330900-GA-100001';
const BY_PATH = [
  [/^\/api\/v1\/stations\//, 'station'], [/^\/api\/v1\/agents\//, 'agent'], [/^\/api\/v1\/assist\//, 'assist'],
  [/^\/api\/v1\/cases\//, 'case'], [/^\/api\/v1\/licences\//, 'licence'], [/^\/api\/v1\/users\//, 'user'],
  [/^\/api\/v1\/proofs\//, 'proof'], [/^\/api\/v1\/rating-tickets\//, 'ticket'], [/^\/api\/v1\/trade\/tenders\//, 'tender'],
  [/^\/api\/v1\/trade\/bids\//, 'bid'], [/^\/api\/v1\/trade\/experts\//, 'expert'],
];

/** The pattern with its parameters filled: an existing demo object where the path says
 *  which, a plausible value otherwise; `bad` replaces the first numeric id parameter. */
function fill(pattern, bad) {
  let used = false;
  return pattern.replace(/\{\*?(\w+)\}/g, (_, name) => {
    if (bad !== undefined && !used && /^(id|fid|oid|idx)$/.test(name)) { used = true; return bad; }
    if (name === 'id') for (const [re, k] of BY_PATH) if (re.test(pattern)) return encodeURIComponent(ids[k]);
    if (name === 'code' && /bundles/.test(pattern)) return encodeURIComponent(ids.bundle);
    if (name === 'topic') return 'dash';
    const generic = { code: ITEM, file: `${ITEM}.json`, action: 'no-such-action', idx: '0', no: 'ZM0000000000', fid: '1', oid: '1', id: '1' };
    return encodeURIComponent(generic[name] ?? '1');
  });
}

/** The role the route is called as: the first demo user its table allows. */
function roleFor(rt) {
  if (rt.flags & PUBLIC && !rt.roles) return 'citizen';
  return DEMO_USERS.find((u) => rt.roles & ROLE_BITS[u]) || null;
}

const DEEP = `${'['.repeat(10000)}${']'.repeat(10000)}`;
const LONG = 'x'.repeat(100 * 1024);
const BAD_VALUES = [
  ['wrong type (object)', '{"a":1}', 'type'],
  ['wrong type (array)', '[1,2]', 'type'],
  ['wrong type (bool)', 'true', 'type'],
  ['100 KB string', JSON.stringify(LONG), 'long'],
  ['NUL', '"a\\u0000b"', 'nul'],
  ['lone surrogate', '"\\ud800"', 'other'],
  ['negative', '-1', 'other'],
  ['huge', '99999999999999999999999', 'other'],
  ['int64 max', '9223372036854775807', 'other'],
  ['fractional', '1.5', 'other'],
  ['deep array', DEEP, 'other'],
];

/** What the test found, one line per problem. */
const problems = [];
const relogins = [];
const stats = { routes: 0, requests: 0, named: 0, strictSkipped: 0 };

function check(tag, r, { allow2xx = false, field } = {}) {
  stats.requests++;
  if (r.status === 0) { problems.push(`${tag}: no answer (${r.error})`); return; }
  if (r.status >= 500) { problems.push(`${tag}: ${r.status} ${r.text.slice(0, 200)}`); return; }
  if (r.status >= 200 && r.status < 300) {
    if (!allow2xx) problems.push(`${tag}: accepted with ${r.status} ${r.text.slice(0, 120)}`);
    return;
  }
  if (r.status < 400) return; // a redirect or 304 is not an error answer
  if (!/^application\/json/.test(r.type)) { problems.push(`${tag}: ${r.status} with Content-Type ${r.type}`); return; }
  const e = r.json?.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string' || typeof e.field !== 'string') {
    problems.push(`${tag}: ${r.status} without {error:{code,message,field}}: ${r.text.slice(0, 200)}`);
    return;
  }
  if (field !== undefined) {
    if (r.status === 400) {
      if (e.field !== field) problems.push(`${tag}: 400 names field "${e.field}", want "${field}": ${e.message}`);
      else stats.named++;
    } else stats.strictSkipped++; // refused before the body was read (403/404/409)
  }
}

/** Tables whose row count a rejected write must not change, by route prefix. */
const COUNTED = [
  [/^\/api\/v1\/cases/, 'cases'], [/^\/api\/v1\/assist/, 'assist_requests'], [/^\/api\/v1\/proofs/, 'proofs'],
  [/^\/api\/v1\/users/, 'users'], [/^\/api\/v1\/trade\/tenders/, 'tenders'], [/^\/api\/v1\/trade\/tenders\/\{id\}\/bids/, 'bids'],
  [/^\/api\/v1\/licences/, 'licences'], [/^\/api\/v1\/trade\/companies/, 'trade_companies'], [/^\/api\/v1\/trade\/experts/, 'experts'],
  [/^\/api\/v1\/ratings|rating/, 'ratings'],
];

test('every write route answers bad input with a 4xx JSON error and stays up', { timeout: 170000 }, async () => {
  const t0 = Date.now();
  const writes = ROUTES.filter((r) => r.method !== 'GET')
    .filter((r) => !(r.method === 'DELETE' && r.pattern === '/api/v1/session'));
  let countChecks = 0;
  for (const rt of writes) {
    const who = roleFor(rt);
    const p = fill(rt.pattern);
    const info = handlerInfo(rt);
    const tag = (what) => `${who} ${rt.method} ${p} [${what}] (${rt.file} ${rt.handler})`;
    const counted = COUNTED.filter(([re]) => re.test(rt.pattern)).map(([, t]) => t);
    const before = counted.map((t) => q1(`SELECT COUNT(*) FROM ${t}`));
    stats.routes++;
    const go = (body, type) => send(rt.method, p, { who, body, type });
    const upload = rt.flags & UPLOAD;

    // Bodies that are not a JSON object. An upload route takes multipart only; a
    // handler that reads no body (an action without parameters) may ignore it.
    const shape = { allow2xx: !info.readsBody };
    check(tag('not JSON'), await go('{"a":', 'application/json'), shape);
    check(tag('not JSON, text/plain'), await go('hello', 'text/plain'), shape);
    for (const b of ['[]', '"x"', '1', 'null', DEEP]) check(tag(`JSON ${b.slice(0, 8)}`), await go(b), shape);
    check(tag('invalid UTF-8'), await go(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), shape);
    // The empty object may be a valid request (an action without parameters).
    check(tag('{}'), await go('{}'), { allow2xx: true });
    // Over the cap: 413 before the handler runs.
    if (!upload && rt.bodyMax !== null) {
      const big = await go(`{"x":"${'y'.repeat((rt.bodyMax || JSON_MAX) + 16)}"}`);
      check(tag('over 1 MiB'), big);
      if (big.status && big.status !== 413) problems.push(`${tag('over 1 MiB')}: ${big.status}, want 413`);
    }
    // Each field the handler knows, one bad value at a time.
    const fields = info.fields.length ? info.fields : ['name', 'text', 'id'];
    for (const f of fields) {
      const spec = info.spec?.find((x) => x.name === f);
      for (const [what, raw, kind] of BAD_VALUES) {
        if (upload) break;
        let strict;
        if (spec && kind === 'type' && spec.type !== 'any' &&
          !(spec.type === 'object' && raw.startsWith('{')) && !(spec.type === 'array' && raw.startsWith('[')) &&
          !(spec.type === 'bool' && raw === 'true')) strict = f;
        if (spec && kind === 'long' && spec.type === 'string' && spec.max !== null && spec.max < LONG.length) strict = f;
        if (kind === 'nul' && (!spec || spec.type === 'string')) strict = f; // jsonx_parse names it
        // Some values are valid for some fields (a negative, a bool): 2xx is allowed
        // except where the spec says the value must be refused.
        check(tag(`${f}: ${what}`), await go(`{"${f}":${raw}}`), { allow2xx: strict === undefined || !info.readsBody, field: strict });
      }
    }
    // Path ids that name nothing.
    if (/\{(id|fid|oid|idx)\}/.test(rt.pattern)) {
      for (const bad of ['0', '-1', 'abc', '12345678901234567890', '%00', '%ff', '1.5']) {
        const r = await send(rt.method, fill(rt.pattern, bad), { who, body: '{}' });
        check(`${who} ${rt.method} ${fill(rt.pattern, bad)} [bad id] (${rt.file})`, r);
      }
    }
    // Nothing was half-written.
    for (const [i, t] of counted.entries()) {
      const now = q1(`SELECT COUNT(*) FROM ${t}`);
      // An empty object may create a row on a route where that is a valid request.
      if (now !== before[i]) {
        const grew = Number(now) - Number(before[i]);
        if (grew > 1) problems.push(`${tag('row count')}: ${t} went ${before[i]} → ${now}`);
      }
      countChecks++;
    }
    const h = await send('GET', '/healthz');
    if (h.status !== 200) {
      problems.push(`${tag('healthz')}: server down after this route (${h.status} ${h.error || ''})`);
      break;
    }
    // A route may end the caller's session (password change, …): log in again.
    if (who && (await send('GET', '/api/v1/me', { who })).status === 401) { relogins.push(`${who} after ${rt.method} ${rt.pattern}`); await login(who); }
  }
  console.log(`bad-input writes: ${stats.routes} routes, ${stats.requests} requests, ${stats.named} field-named 400s, ` +
    `${stats.strictSkipped} refused before the body, ${countChecks} row counts, ${((Date.now() - t0) / 1000).toFixed(1)} s, ${isPg ? 'PostgreSQL' : 'SQLite'}`);
  if (relogins.length) console.log(`sessions ended by: ${relogins.join('; ')}`);
  assert.ok(stats.named > 50, `only ${stats.named} field-named 400s`);
  assert.deepEqual(problems.splice(0), [], 'problems');
});

test('GET routes answer bad query parameters with 200 or a 4xx naming the parameter', { timeout: 60000 }, async () => {
  const gets = ROUTES.filter((r) => r.method === 'GET' && !/events/.test(r.pattern));
  const bad = { limit: ['-1', '99999999', 'abc', '1e3', ''], offset: ['abc', '-5', '99999999999999999999'], from: ['2026-13-45', 'x'], to: ['2026-02-30', '%00'],
    status: ['no-such', '%00', 'x'.repeat(5000)], page: ['-1', 'abc'] };
  let n = 0;
  for (const rt of gets) {
    const who = roleFor(rt);
    const info = handlerInfo(rt);
    // Where the route answers 200 without parameters, a 400 must be about the bad one.
    const baseline = (await send('GET', fill(rt.pattern), { who })).status;
    const params = new Set([...info.query, 'limit', 'offset', 'from', 'to', 'status']);
    for (const q of params) {
      for (const v of bad[q] || ['-1', 'abc', '99999999999999999999', '%00', '%ff%fe', 'x'.repeat(5000)]) {
        const p = `${fill(rt.pattern)}?${q}=${v.startsWith('%') ? v : encodeURIComponent(v)}`;
        const r = await send('GET', p, { who });
        n++;
        const tag = `${who} GET ${p.slice(0, 120)} (${rt.file} ${rt.handler})`;
        if (r.status >= 400 && r.status < 500 && r.json?.error && baseline === 200 && r.status === 400 &&
          r.json.error.field !== q && !(r.json.error.field === '' && /utf|编码/i.test(r.json.error.message))) {
          problems.push(`${tag}: 400 names "${r.json.error.field}", want "${q}": ${r.json.error.message}`);
        }
        // Not UTF-8: refused before the handler (PostgreSQL's TEXT would refuse it: a 500).
        if (v === '%ff%fe' && (r.status !== 400 || r.json?.error?.field !== q)) problems.push(`${tag}: ${r.status} ${r.text.slice(0, 120)}, want 400 naming "${q}"`);
        check(tag, r, { allow2xx: v !== '%ff%fe' });
      }
    }
    const h = await send('GET', '/healthz');
    if (h.status !== 200) { problems.push(`GET ${rt.pattern}: server down after it`); break; }
  }
  console.log(`bad-input queries: ${gets.length} GET routes, ${n} requests`);
  assert.deepEqual(problems.splice(0), [], 'problems');
});

// ---------------------------------------------------------------- one bad field in a valid body
// Most create routes hand the body to the domain function, which checks it: from an
// empty object they stop at the first missing field. So start from a body the route
// accepts (checked: it must answer 2xx) and spoil one field at a time.

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function bases() {
  const dl = Date.now() + 30 * 86400000;
  const uscc = ['91330921MA2B12345N', '913309023076543216'].find((u) => !q1(`SELECT id FROM trade_companies WHERE uscc = '${u}'`));
  return [
    { who: 'citizen', method: 'POST', path: '/api/v1/cases', table: 'cases', nested: 'form',
      body: { item_code: ITEM, submit: false, form: { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234',
        baby_name: '张小舟', baby_sex: '女', birth_date: '2026-11-20', birth_place: '舟山医院', follow: '随母' } } },
    { who: 'citizen', method: 'POST', path: '/api/v1/assist', table: 'assist_requests',
      body: { village_code: '330903100204', description: '帮我办医保转移' } },
    { who: 'citizen', method: 'POST', path: '/api/v1/proofs', table: 'proofs',
      body: { kind: 'residence', purpose: '办理银行开户', details: '本人居住在沥港社区。', village_code: '330902100002' } },
    { who: 'trading_staff', method: 'POST', path: '/api/v1/trade/tenders', table: 'tenders',
      body: { kind: 'works', title: `坏输入测试工程 ${Date.now()}`, buyer: '舟山市定海区人民政府', budget: '1000000.00', deposit: '20000',
        method: 'lowest_price', lots: [{ name: '主体', budget: '1000000' }],
        questions_until: iso(dl - 3 * 86400000), deadline_at: iso(dl), evaluation_at: iso(dl + 7200000) } },
    { who: 'trading_staff', method: 'POST', path: '/api/v1/trade/experts', table: 'experts',
      body: { name: '坏输入专家', specialties: ['works', 'procurement'], employer: '浙江海洋大学' } },
    { who: 'staff', method: 'POST', path: '/api/v1/agents', table: 'agents',
      body: { name: '周代办', kind: 'part_time', station_id: 'S0018' } },
    { who: 'admin', method: 'POST', path: '/api/v1/users', table: 'users', fresh: (b) => (b.login === 'x' ? { ...b, login: `bi${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}` } : b),
      body: { login: 'x', password: PASSWORD, role: 'citizen', display_name: '坏输入测试' } },
    ...(uscc ? [{ who: 'newbidder', method: 'POST', path: '/api/v1/trade/companies', table: 'trade_companies', last: true,
      body: { uscc, name: '舟山坏输入建设有限公司', legal_rep: '陈海通', address: '舟山市定海区海宇道 1 号', phone: '0580-2281234' } }] : []),
  ];
}

/** Spoiled values for a field whose valid value is v: [label, value, must refuse]. */
function spoil(v) {
  if (typeof v === 'string') {
    return [['object', { a: 1 }, true], ['array', [v], true], ['100 KB', LONG, true], ['NUL', `${v}\u0000x`, true],
      ['number', 12345, false], ['bool', true, true], ['deep', JSON.parse('['.repeat(20) + ']'.repeat(20)), true]];
  }
  if (Array.isArray(v)) return [['string', 'x', true], ['number', 1, true], ['object', { a: 1 }, true], ['10,000 items', Array(10000).fill(v[0]), false]];
  if (typeof v === 'object' && v) return [['string', 'x', true], ['array', [v], true], ['number', 1, true]];
  if (typeof v === 'boolean') return [['string', 'yes', false], ['object', { a: 1 }, true]];
  return [['string', 'x', true], ['fraction', 1.5, false], ['huge', 1e300, true]];
}

test('create routes refuse one spoiled field of a valid body, naming it, and write nothing', { timeout: 60000 }, async () => {
  for (const u of DEMO_USERS) assert.equal((await send('GET', '/api/v1/me', { who: u })).status, 200, `the session of ${u} survived`);
  // A fresh bidder without a company for the company registration.
  const bidder = `bibid${Date.now().toString(36)}`;
  const r0 = await send('POST', '/api/v1/users', { who: 'admin', body: JSON.stringify({ login: bidder, password: PASSWORD, role: 'bidder', display_name: '坏输入投标人' }) });
  assert.equal(r0.status, 201, r0.text);
  S.newbidder = await login(bidder);
  let n = 0;
  for (const b of bases()) {
    const tag = (what) => `${b.who} ${b.method} ${b.path} [${what}]`;
    const fresh = (x) => (b.fresh ? b.fresh(x) : x);
    const rows = () => q1(`SELECT COUNT(*) FROM ${b.table}`);
    const count0 = rows();
    const cases = [];
    for (const [k, v] of Object.entries(b.body)) for (const s of spoil(v)) cases.push([k, null, s]);
    if (b.nested) for (const [k, v] of Object.entries(b.body[b.nested])) for (const s of spoil(v)) cases.push([b.nested, k, s]);
    let accepted = 0;
    for (const [k, inner, [what, val, must]] of cases) {
      const body = structuredClone(b.body);
      if (inner) body[k][inner] = val; else body[k] = val;
      const r = await send(b.method, b.path, { who: b.who, body: JSON.stringify(fresh(body)) });
      n++;
      const name = inner ? `${k}.${inner}` : k;
      check(tag(`${name}: ${what}`), r, { allow2xx: !must });
      if (r.status >= 200 && r.status < 300) accepted++;
      if (r.status === 400 && must) {
        const f = r.json?.error?.field || '';
        const ok = f === k || f === name || f === inner || f.startsWith(`${k}.`) || f.startsWith(`${k}[`);
        if (!ok) problems.push(`${tag(`${name}: ${what}`)}: 400 names "${f}", want "${name}": ${r.json?.error?.message}`);
        else stats.named++;
      }
    }
    // Nothing half-written: only the accepted (valid) variants added rows.
    const count1 = rows();
    if (Number(count1) - Number(count0) !== accepted) problems.push(`${tag('rows')}: ${b.table} ${count0} → ${count1} after ${accepted} accepted`);
    // The base itself is valid (so the spoiled variants really reached the checks).
    const ok = await send(b.method, b.path, { who: b.who, body: JSON.stringify(fresh(b.body)) });
    assert.ok(ok.status >= 200 && ok.status < 300, `${tag('valid base')}: ${ok.status} ${ok.text.slice(0, 300)}`);
    assert.equal((await send('GET', '/healthz')).status, 200);
  }
  console.log(`bad-input spoiled fields: ${n} requests`);
  assert.deepEqual(problems.splice(0), [], 'problems');
});
