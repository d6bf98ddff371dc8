// Public resource trading, tenders part: trading staff create a draft (checked field
// by field), edit it and announce it (the minimum bidding period, here scaled by
// ISLE_TRADE_MIN_NOTICE_DAYS=10), publish a clarification and an amendment that
// moves the deadline; the public sees announcements (never drafts, never phones)
// with filters and paging, documents attached to the announcement, results with the
// savings rate; companies register by USCC; deposits are paid once per company and
// stay secret until the deadline; cancellation with a reason; the CLI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PASSWORD, dbQuery, errorOf, runIsle, startServer, uniq } from './server.mjs';

const DAY = 86400 * 1000;
const USCC_OK = ['91330921MA2B12345N', '913309023076543216'];

let srv;
let staff, admin, supervisor, citizen, bidderA, bidderB;

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

async function mkUser(role) {
  const login = `${role}_${uniq()}`;
  const r = await srv.req('POST', '/api/v1/users', {
    auth: admin, json: { login, password: PASSWORD, role, display_name: `测试${role}` },
  });
  assert.equal(r.status, 201, r.text);
  return srv.loginToken(login);
}

function works(days, extra = {}) {
  const dl = Date.now() + days * DAY;
  return {
    kind: 'works', title: `沈家门渔港码头改造工程 ${uniq()}`, buyer: '舟山市普陀区沈家门街道办事处',
    agency: '浙江舟山招标代理有限公司', budget: '8800000.00', deposit: '160000', method: 'reasonable_low',
    method_params: { factor_min: 0.93, factor_max: 0.97 }, qualification: '港口与航道工程施工总承包三级及以上',
    lots: [{ name: '码头主体', budget: '8000000' }, { name: '附属设施', budget: '800000' }],
    questions_until: iso(dl - 3 * DAY), deadline_at: iso(dl), evaluation_at: iso(dl + 2 * 3600 * 1000),
    ...extra,
  };
}

async function create(body, auth = staff) {
  const r = await srv.req('POST', '/api/v1/trade/tenders', { auth, json: body });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

before(async () => {
  srv = await startServer({ env: { ISLE_TRADE_MIN_NOTICE_DAYS: '10' } });
  [staff, admin, supervisor, citizen] = await Promise.all(
    ['trading_staff', 'admin', 'supervisor', 'citizen'].map((l) => srv.loginToken(l)));
  bidderA = await mkUser('bidder');
  bidderB = await mkUser('company');
});

after(async () => {
  if (srv) await srv.stop();
});

test('create: staff only, every rule names its field, the number follows the kind', async () => {
  assertError(await srv.req('POST', '/api/v1/trade/tenders', { json: works(20) }), 401);
  assertError(await srv.req('POST', '/api/v1/trade/tenders', { auth: supervisor, json: works(20) }), 403);
  assertError(await srv.req('POST', '/api/v1/trade/tenders', { auth: bidderA, json: works(20) }), 403);
  const bad = [
    [{ method: 'auction' }, 'method'],
    [{ budget: undefined }, 'budget'],
    [{ budget: '-5' }, 'budget'],
    [{ deposit: '176000.01' }, 'deposit'], // over 2% of the budget
    [{ method: 'composite', method_params: { price_weight: 50, tech_weight: 40 } }, 'method_params'],
    [{ method_params: { factor_min: 0.8, factor_max: 0.97 } }, 'method_params'],
    [{ deadline_at: '2030-01-01T09:00:00' }, 'deadline_at'], // no zone
    [{ evaluation_at: iso(Date.now() + DAY) }, 'evaluation_at'],
    [{ lots: Array.from({ length: 51 }, () => ({ name: '标段' })) }, 'lots'],
    [{ title: 'x'.repeat(201) }, 'title'],
    [{ extra: 1 }, 'extra'],
  ];
  for (const [change, field] of bad) {
    const body = { ...works(20), ...change };
    for (const k of Object.keys(change)) if (change[k] === undefined) delete body[k];
    const r = await srv.req('POST', '/api/v1/trade/tenders', { auth: staff, json: body });
    assertError(r, 400, 'invalid_argument', field);
  }
  const t = await create(works(20));
  assert.match(t.tender_no, /^ZS-GC-\d{4}-\d{4}$/);
  assert.equal(t.status, 'draft');
  assert.equal(t.budget, '8800000.00');
  assert.equal(t.budget_fen, 880000000);
  assert.equal(t.deposit, '160000.00');
  assert.equal(t.method_label, '合理低价法');
  assert.deepEqual(t.lots.map((l) => [l.no, l.budget]), [[1, '8000000.00'], [2, '800000.00']]);
  const land = await create({
    kind: 'land', title: '岱山县高亭镇 2026-07 号地块国有建设用地使用权', buyer: '岱山县自然资源和规划局',
    reserve: '32000000', deposit: '6400000', method: 'auction',
    method_params: { increment: '50000', extend_seconds: 300 }, deadline_at: iso(Date.now() + 15 * DAY),
  });
  assert.match(land.tender_no, /^ZS-TD-\d{4}-\d{4}$/);
  assert.equal(land.method_params.increment, '50000.00');
  assert.equal(land.method_params.increment_fen, 5000000);
  assertError(await srv.req('POST', '/api/v1/trade/tenders', {
    auth: staff, json: { ...works(20), kind: 'property' },
  }), 400, 'invalid_argument', 'method');
});

test('drafts are hidden; edit, announce with a document; the public sees it', async () => {
  const t = await create(works(9));
  assertError(await srv.req('GET', `/api/v1/trade/tenders/${t.id}`), 404, 'not_found');
  assertError(await srv.req('GET', `/api/v1/trade/tenders/${t.id}`, { auth: bidderA }), 404);
  const sup = await srv.req('GET', `/api/v1/trade/tenders/${t.id}`, { auth: supervisor });
  assert.equal(sup.status, 200);
  assert.equal(sup.json.can.edit, false);
  assertError(await srv.req('PATCH', `/api/v1/trade/tenders/${t.id}`, { auth: supervisor, json: { title: 'x' } }), 403);
  // 9 days < the 10-day minimum of this server
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/announce`, { auth: staff }), 422, 'unprocessable', 'deadline_at');
  const dl = iso(Date.now() + 12 * DAY);
  const p = await srv.req('PATCH', `/api/v1/trade/tenders/${t.id}`, {
    auth: staff, json: { deadline_at: dl, evaluation_at: dl, questions_until: iso(Date.now() + 5 * DAY), version: t.version },
  });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.deadline_at, dl);
  assert.equal(p.json.version, t.version + 1);
  assertError(await srv.req('PATCH', `/api/v1/trade/tenders/${t.id}`, { auth: staff, json: { title: 'y', version: t.version } }), 409, 'conflict', 'version');

  const fd = new FormData();
  fd.append('file', new Blob(['%PDF-1.4\n招标文件\n%%EOF\n']), '招标文件.pdf');
  const up = await srv.req('POST', '/api/v1/uploads', { auth: staff, body: fd });
  assert.equal(up.status, 201, up.text);
  const fileId = up.json.files[0].id;
  const a = await srv.req('POST', `/api/v1/trade/tenders/${t.id}/announce`, { auth: staff, json: { files: [fileId] } });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.status, 'announced');
  assert.ok(a.json.announce_at);
  assert.equal(a.json.notices.length, 1);
  assert.equal(a.json.notices[0].kind, 'announcement');
  assert.equal(a.json.notices[0].title, '招标公告');
  const url = a.json.notices[0].files[0].url;
  assert.equal(url, `/api/v1/trade/tenders/${t.id}/files/${fileId}`);
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/announce`, { auth: staff }), 409, 'conflict', 'status');

  // anonymous: the tender, its document, the list with filters
  const pub = await srv.req('GET', `/api/v1/trade/tenders/${t.id}`);
  assert.equal(pub.status, 200);
  assert.equal(pub.json.status_label, '公告中');
  assert.equal(pub.json.open_for_bids, true);
  assert.equal(pub.json.timeline[0].state, 'current');
  assert.ok(!('created_by' in pub.json));
  const doc = await fetch(srv.base + url);
  assert.equal(doc.status, 200);
  assert.match(doc.headers.get('content-disposition'), /attachment/);
  assert.match(Buffer.from(await doc.arrayBuffer()).toString(), /招标文件/);
  assertError(await srv.req('GET', `/api/v1/trade/tenders/${t.id}/files/${fileId + 999}`), 404);
  const list = await srv.req('GET', `/api/v1/trade/tenders?kind=works&q=${encodeURIComponent(t.title.slice(-6))}`);
  assert.equal(list.status, 200);
  assert.equal(list.json.total, 1);
  assert.equal(list.json.items[0].id, t.id);
  const drafts = await srv.req('GET', '/api/v1/trade/tenders?status=draft');
  assertError(drafts, 400, 'invalid_argument', 'status');
  const staffDrafts = await srv.req('GET', '/api/v1/trade/tenders?status=draft', { auth: staff });
  assert.equal(staffDrafts.status, 200);
  assert.ok(staffDrafts.json.total >= 1);
  const all = await srv.req('GET', '/api/v1/trade/tenders?limit=1&offset=0');
  assert.equal(all.json.items.length, 1);
  assert.ok(all.json.total >= 1);
  assertError(await srv.req('GET', '/api/v1/trade/tenders?limit=abc'), 400);
  assertError(await srv.req('GET', '/api/v1/trade/tenders?phase=bogus'), 400, 'invalid_argument', 'phase');
});

test('clarification and amendment: the deadline moves only later, evaluation with it', async () => {
  const t = await create(works(12));
  await srv.req('POST', `/api/v1/trade/tenders/${t.id}/announce`, { auth: staff });
  const c = await srv.req('POST', `/api/v1/trade/tenders/${t.id}/notices`, {
    auth: staff, json: { kind: 'clarification', title: '答疑澄清（一）', body: '工期为 180 日历天。' },
  });
  assert.equal(c.status, 201, c.text);
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/notices`, {
    auth: staff, json: { kind: 'amendment', title: '修改', body: '提前', new_deadline_at: iso(Date.now() + 11 * DAY) },
  }), 400, 'invalid_argument', 'new_deadline_at');
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/notices`, {
    auth: staff, json: { kind: 'notice', title: 'x', body: 'y' },
  }), 400, 'invalid_argument', 'kind');
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/notices`, {
    auth: supervisor, json: { kind: 'clarification', title: 'x', body: 'y' },
  }), 403);
  const nd = iso(Date.now() + 20 * DAY);
  const a = await srv.req('POST', `/api/v1/trade/tenders/${t.id}/notices`, {
    auth: staff, json: { kind: 'amendment', title: '变更公告（截止时间顺延）', body: '投标截止时间顺延。', new_deadline_at: nd },
  });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.json.deadline_at, nd);
  const moved = Date.parse(nd) - Date.parse(t.deadline_at);
  assert.equal(Date.parse(a.json.evaluation_at) - Date.parse(t.evaluation_at), moved);
  const n = await srv.req('GET', `/api/v1/trade/tenders/${t.id}/notices`);
  assert.equal(n.status, 200);
  assert.deepEqual(n.json.items.map((x) => x.kind), ['announcement', 'clarification', 'amendment']);
  assert.equal(n.json.items[2].old_deadline_at, t.deadline_at);
  assert.equal(n.json.items[2].new_deadline_at, nd);
  const audit = dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'tender' AND object_id = '${t.id}'`);
  assert.ok(Number(audit) >= 4, `audit rows ${audit}`);
});

test('companies: USCC check digit, one per user, duplicates refused; staff search', async () => {
  assertError(await srv.req('POST', '/api/v1/trade/companies', {
    auth: citizen, json: { uscc: USCC_OK[0], name: '某公司' },
  }), 403);
  assertError(await srv.req('GET', '/api/v1/trade/companies/me', { auth: bidderA }), 404);
  assertError(await srv.req('POST', '/api/v1/trade/companies', {
    auth: bidderA, json: { uscc: '91330921MA2B12345M', name: '舟山海通建设有限公司' },
  }), 400, 'invalid_argument', 'uscc');
  const r = await srv.req('POST', '/api/v1/trade/companies', {
    auth: bidderA,
    json: { uscc: USCC_OK[0], name: '舟山海通建设有限公司', legal_rep: '陈海通', address: '舟山市定海区海宇道 1 号', phone: '0580-2281234' },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.uscc, USCC_OK[0]);
  assertError(await srv.req('POST', '/api/v1/trade/companies', {
    auth: bidderA, json: { uscc: USCC_OK[1], name: '二号公司' },
  }), 409, 'conflict', 'user');
  assertError(await srv.req('POST', '/api/v1/trade/companies', {
    auth: bidderB, json: { uscc: USCC_OK[0], name: '冒名公司' },
  }), 409, 'conflict', 'uscc');
  const b = await srv.req('POST', '/api/v1/trade/companies', {
    auth: bidderB, json: { uscc: USCC_OK[1], name: '岱山蓝海工程有限公司' },
  });
  assert.equal(b.status, 201, b.text);
  const me = await srv.req('GET', '/api/v1/trade/companies/me', { auth: bidderA });
  assert.equal(me.json.name, '舟山海通建设有限公司');
  const list = await srv.req('GET', `/api/v1/trade/companies?q=${encodeURIComponent('蓝海')}`, { auth: supervisor });
  assert.equal(list.status, 200);
  assert.equal(list.json.total, 1);
  assertError(await srv.req('GET', '/api/v1/trade/companies', { auth: bidderA }), 403);
  const log = dbQuery(srv.dbPath, "SELECT after_json FROM audit_log WHERE action = 'company.register'");
  assert.ok(!log.includes('0580-2281234'), 'no phone in the audit log');
});

test('deposits: once per company, while open, secret until the deadline; 我的投标', async () => {
  const t = await create(works(12));
  const pay = { amount: '160000', account_no: '3301 0400 0000 1234 5678', account_name: '舟山海通建设有限公司', bank: '舟山农商银行' };
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: bidderA, json: pay }), 404);
  await srv.req('POST', `/api/v1/trade/tenders/${t.id}/announce`, { auth: staff });
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/deposits`, {
    auth: bidderA, json: { ...pay, amount: '1000' },
  }), 400, 'invalid_argument', 'amount');
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: citizen, json: pay }), 403);
  const r = await srv.req('POST', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: bidderA, json: pay });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.amount, '160000.00');
  assert.equal(r.json.account_no, '33010400000012345678');
  assert.match(r.json.ref, /^BZJ-ZS-GC-/);
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: bidderA, json: pay }), 409);
  const own = await srv.req('GET', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: bidderA });
  assert.equal(own.status, 200);
  assert.equal(own.json.items.length, 1);
  const other = await srv.req('GET', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: bidderB });
  assert.equal(other.json.items.length, 0);
  assertError(await srv.req('GET', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: staff }), 403);
  assertError(await srv.req('GET', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: supervisor }), 403);
  const view = await srv.req('GET', `/api/v1/trade/tenders/${t.id}`, { auth: bidderA });
  assert.equal(view.json.my_deposit.amount, '160000.00');
  assert.equal(view.json.can.bid, true);
  const anon = await srv.req('GET', `/api/v1/trade/tenders/${t.id}`);
  assert.ok(!('my_deposit' in anon.json));
  assert.equal(anon.json.can.bid, false);
  const mine = await srv.req('GET', '/api/v1/trade/tenders?mine=1', { auth: bidderA });
  assert.equal(mine.status, 200);
  assert.deepEqual(mine.json.items.map((x) => x.id), [t.id]);
  assertError(await srv.req('GET', '/api/v1/trade/tenders?mine=1'), 403);
  // after the deadline (moved into the past in the database) staff see them all
  dbQuery(srv.dbPath, `UPDATE tenders SET deadline_at = '2020-01-01T00:00:00Z' WHERE id = ${t.id}`);
  const all = await srv.req('GET', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: supervisor });
  assert.equal(all.status, 200);
  assert.equal(all.json.items.length, 1);
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/deposits`, { auth: bidderB, json: pay }), 409, 'conflict', 'status');
});

test('results: savings rate, failed, cancelled with a reason; no phones in public data', async () => {
  const t = await create(works(12));
  await srv.req('POST', `/api/v1/trade/tenders/${t.id}/announce`, { auth: staff });
  const cid = dbQuery(srv.dbPath, `SELECT id FROM trade_companies WHERE uscc = '${USCC_OK[0]}'`);
  dbQuery(srv.dbPath, `UPDATE tenders SET status = 'awarded', award_company_id = ${cid}, award_fen = 792000000, awarded_at = '2099-01-01T00:00:00Z' WHERE id = ${t.id}`);
  const r = await srv.req('GET', '/api/v1/trade/results?kind=works');
  assert.equal(r.status, 200);
  const row = r.json.items.find((x) => x.id === t.id);
  assert.ok(row, 'the awarded tender is a result');
  assert.equal(row.award, '7920000.00');
  assert.equal(row.savings_rate, 0.1);
  assert.equal(row.award_company.name, '舟山海通建设有限公司');
  assert.ok(!r.text.includes('0580-2281234'));
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${t.id}/cancel`, { auth: staff, json: { reason: '调整' } }), 409);

  const c = await create(works(12));
  await srv.req('POST', `/api/v1/trade/tenders/${c.id}/announce`, { auth: staff });
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${c.id}/cancel`, { auth: staff, json: {} }), 400, 'invalid_argument', 'reason');
  const x = await srv.req('POST', `/api/v1/trade/tenders/${c.id}/cancel`, { auth: staff, json: { reason: '项目资金未落实，终止招标' } });
  assert.equal(x.status, 200, x.text);
  assert.equal(x.json.status, 'cancelled');
  assert.equal(x.json.cancelled_reason, '项目资金未落实，终止招标');
  assert.equal(x.json.notices.at(-1).kind, 'cancelled');
  const closed = await srv.req('GET', '/api/v1/trade/results?phase=closed&status=cancelled');
  assert.ok(closed.json.items.some((i) => i.id === c.id));
  const open = await srv.req('GET', '/api/v1/trade/tenders?phase=open&limit=100');
  assert.ok(!open.json.items.some((i) => i.id === c.id));
});

test('CLI: isle trade tender list/show/announce', async () => {
  const t = await create(works(12));
  const env = { ISLE_TRADE_MIN_NOTICE_DAYS: '10' };
  const ann = runIsle(['--db', srv.dbPath, 'trade', 'tender', 'announce', t.tender_no], { env });
  assert.equal(ann.status, 0, ann.stderr);
  const show = runIsle(['--db', srv.dbPath, 'trade', 'tender', 'show', t.tender_no, '--json'], { env });
  assert.equal(show.status, 0, show.stderr);
  assert.equal(JSON.parse(show.stdout).status, 'announced');
  const list = runIsle(['--db', srv.dbPath, 'trade', 'tender', 'list', '--status', 'announced'], { env });
  assert.equal(list.status, 0, list.stderr);
  assert.ok(list.stdout.includes(t.tender_no));
  const bad = runIsle(['--db', srv.dbPath, 'trade', 'tender', 'show', 'ZS-XX-0000-0000'], { env });
  assert.equal(bad.status, 1);
  assert.equal(runIsle(['--db', srv.dbPath, 'trade', 'tender'], { env }).status, 2);
});
