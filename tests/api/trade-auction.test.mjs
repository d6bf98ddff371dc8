// Online ascending auctions (网络竞价) of asset sales: GET/POST /api/v1/trade/tenders/{id}/
// auction[/bids|/close]. 挂牌 offers with deposits and the increment grid, secrecy of names
// (竞买号 only until the result), the live event on SSE topic tender.<id>, two bids at
// once (one wins, no lost update), 延时 on a late bid, the watcher starting the 竞价 and
// closing it, 增幅 in the award notice, 流标 without offers, roles.
// Tenders are seeded with SQL (the tenders part has its own tests).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PASSWORD, dbQuery, errorOf, sseSubscribe, startServer, uniq } from './server.mjs';

let srv;
let bidder, company, third, staff, citizen, admin;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const q = (v) => (v === null || v === undefined ? 'NULL'
  : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sql = (s) => dbQuery(srv.dbPath, s);

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

function companyFor(login, uscc, name) {
  const user = Number(sql(`SELECT id FROM users WHERE login = ${q(login)}`));
  sql(`INSERT INTO trade_companies (uscc, name, created_at, updated_at) VALUES (${q(uscc)}, ${q(name)},
    '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') ON CONFLICT (uscc) DO NOTHING`);
  const c = Number(sql(`SELECT id FROM trade_companies WHERE uscc = ${q(uscc)}`));
  sql(`INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES (${user}, ${c},
    '2026-01-01T00:00:00Z') ON CONFLICT (user_id) DO NOTHING`);
  return Number(sql(`SELECT company_id FROM trade_company_users WHERE user_id = ${user}`));
}

/** A land auction: reserve ¥1,000,000, increment ¥10,000, deposit ¥100,000 paid by the
 *  given companies. */
function auctionTender({ deadlineMs = Date.now() + 3600e3, paid = [], params = {}, kind = 'land' } = {}) {
  const no = `ZS-AU-${uniq()}`.toUpperCase();
  const mp = JSON.stringify({ increment: '10000', extend_seconds: 10, auction_minutes: 1, ...params });
  sql(`INSERT INTO tenders (tender_no, kind, title, buyer, reserve_fen, deposit_fen, method, method_params,
    status, announce_at, deadline_at, created_at, updated_at) VALUES (${q(no)}, ${q(kind)},
    '定海区临城地块国有建设用地使用权', '舟山市自然资源和规划局', 100000000, 10000000, 'auction', ${q(mp)},
    'announced', ${q(iso(Date.now() - 86400e3))}, ${q(iso(deadlineMs))}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
  const id = Number(sql(`SELECT id FROM tenders WHERE tender_no = ${q(no)}`));
  for (const c of paid) {
    sql(`INSERT INTO trade_deposits (tender_id, company_id, amount_fen, account_no, account_name, paid_at)
      VALUES (${id}, ${c}, 10000000, ${q(`6222${c}`)}, 'x', ${q(iso(Date.now()))})`);
  }
  return id;
}

const state = (id, auth) => srv.req('GET', `/api/v1/trade/tenders/${id}/auction`, { auth });
const bid = (id, auth, json) => srv.req('POST', `/api/v1/trade/tenders/${id}/auction/bids`, { auth, json });
const close = (id, auth) => srv.req('POST', `/api/v1/trade/tenders/${id}/auction/close`, { auth, json: {} });

async function waitFor(fn, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(100);
  }
}

let C1, C2, C3;
before(async () => {
  srv = await startServer({ env: { ISLE_AUCTION_SCAN_MS: '200' } });
  admin = await srv.login('admin');
  const login3 = `bidder_${uniq()}`;
  const r = await srv.req('POST', '/api/v1/users', {
    auth: admin, json: { login: login3, password: PASSWORD, role: 'bidder', display_name: '丙投资' },
  });
  assert.equal(r.status, 201, r.text);
  C1 = companyFor('bidder', '91330900MA2AU0001X', '东港建设集团有限公司');
  C2 = companyFor('company', '91330900MA2AU0002Y', '舟渔水产有限公司');
  C3 = companyFor(login3, '91330900MA2AU0003Z', '普陀丙投资有限公司');
  bidder = await srv.login('bidder');
  company = await srv.login('company');
  third = await srv.login(login3);
  staff = await srv.login('trading_staff');
  citizen = await srv.login('citizen');
});

after(async () => { await srv?.stop(); });

test('挂牌: rules, roles, deposits and secrecy', async () => {
  const id = auctionTender({ paid: [C1, C2] });
  let r = await state(id);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.phase, 'listing');
  assert.equal(r.json.price_fen, null);
  assert.equal(r.json.min_bid_fen, 100000000);
  assert.equal(r.json.increment_fen, 1000000);
  assert.equal(r.json.me, undefined);

  assertError(await bid(id, citizen, { amount: '1000000' }), 403);
  assertError(await bid(id, undefined, { amount: '1000000' }), 401);
  assertError(await bid(id, third, { amount: '1000000' }), 422, 'deposit_required', 'deposit');
  assertError(await bid(id, bidder, {}), 400, 'invalid_argument', 'amount');
  assertError(await bid(id, bidder, { amount: 'abc' }), 400, 'invalid_argument', 'amount');
  assertError(await bid(id, bidder, { amount: '1', amount_fen: 100 }), 400, 'invalid_argument', 'amount');
  assertError(await bid(id, bidder, { amount: '1000000', extra: 1 }), 400);
  assertError(await bid(id, bidder, { amount: '999999.99' }), 422, 'bid_too_low', 'amount');
  assertError(await bid(id, bidder, { amount: '1005000' }), 422, 'bad_increment', 'amount');
  assertError(await bid(999999999, bidder, { amount: '1000000' }), 404);

  r = await bid(id, bidder, { amount: '1000000' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.me.leading, true);
  assert.equal(r.json.me.message, '您当前领先');
  assert.equal(r.json.me.bidder_no, 1);
  assertError(await bid(id, bidder, { amount: '1010000' }), 422, 'already_leading');
  assertError(await bid(id, company, { amount: '1000000' }), 422, 'bid_too_low');
  r = await bid(id, company, { amount_fen: 102000000 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.me.bidder_no, 2);

  r = await state(id, bidder);
  assert.equal(r.json.me.leading, false);
  assert.equal(r.json.price, '1020000.00');
  assert.equal(r.json.leader_no, 2);
  assert.equal(r.json.history.length, 2);
  assert.equal(r.json.history[1].mine, true);
  assert.equal(r.json.history[0].mine, undefined);
  // The public never sees a name or a USCC before the result.
  r = await state(id);
  assert.ok(!/有限公司|91330900/.test(r.text), r.text);
  assert.deepEqual(r.json.history.map((h) => h.bidder_no), [2, 1]);
  // Closing: not before the end, not by a bidder.
  assertError(await close(id, staff), 409, 'not_ended');
  assertError(await close(id, bidder), 403);
  // Audit rows for each bid.
  assert.equal(Number(sql(`SELECT COUNT(*) FROM audit_log WHERE action = 'auction.bid' AND object_id = '${id}'`)), 2);
});

test('live: the bid event on tender.<id>, without names', async () => {
  const id = auctionTender({ paid: [C1, C2] });
  const sse = await sseSubscribe(srv.base, `tender.${id}`, { Cookie: bidder.cookie });
  try {
    assert.equal(sse.res.status, 200);
    await sleep(200);
    const r = await bid(id, company, { amount: '1000000' });
    assert.equal(r.status, 201, r.text);
    const ev = await sse.next((e) => e.event === 'auction_bid');
    const data = JSON.parse(ev.data);
    assert.equal(data.price_fen, 100000000);
    assert.equal(data.bidder_no, 1);
    assert.equal(data.phase, 'listing');
    assert.ok(!/有限公司|company_id/.test(ev.data), ev.data);
  } finally {
    sse.close();
  }
});

test('two bids at once: one wins, nothing lost', async () => {
  const id = auctionTender({ paid: [C1, C2] });
  const rs = await Promise.all([
    bid(id, bidder, { amount: '1000000' }), bid(id, company, { amount: '1000000' }),
  ]);
  const ok = rs.filter((r) => r.status === 201);
  assert.equal(ok.length, 1, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
  const lost = rs.find((r) => r.status !== 201);
  assert.ok([409, 422].includes(lost.status), lost.text);
  assert.equal(Number(sql(`SELECT COUNT(*) FROM auction_bids WHERE tender_id = ${id}`)), 1);
  // Many rounds in parallel: the price always equals the highest recorded bid.
  for (let i = 0; i < 5; i++) {
    const st = (await state(id)).json;
    await Promise.all([
      bid(id, bidder, { amount_fen: st.min_bid_fen }), bid(id, company, { amount_fen: st.min_bid_fen }),
    ]);
  }
  const max = Number(sql(`SELECT MAX(amount_fen) FROM auction_bids WHERE tender_id = ${id}`));
  assert.equal(Number(sql(`SELECT auction_price_fen FROM tenders WHERE id = ${id}`)), max);
  const n = Number(sql(`SELECT COUNT(*) FROM auction_bids WHERE tender_id = ${id}`));
  assert.equal(Number(sql(`SELECT COUNT(*) FROM auction_bids WHERE tender_id = ${id} AND amount_fen = ${max}`)), 1);
  assert.equal(Number(sql(`SELECT COUNT(*) FROM audit_log WHERE action = 'auction.bid' AND object_id = '${id}'`)), n);
});

test('竞价: the watcher starts it, a late bid extends it, the watcher awards with 增幅', async () => {
  const id = auctionTender({ paid: [C1, C2], deadlineMs: Date.now() + 3600e3 });
  assert.equal((await bid(id, bidder, { amount: '1000000' })).status, 201);
  assert.equal((await bid(id, company, { amount: '1010000' })).status, 201);
  // 挂牌 ends: the watcher (ISLE_AUCTION_SCAN_MS=200) moves it to 竞价 with no request.
  sql(`UPDATE tenders SET deadline_at = ${q(iso(Date.now() - 1000))} WHERE id = ${id}`);
  await waitFor(() => sql(`SELECT status FROM tenders WHERE id = ${id}`) === 'auction');
  let r = await state(id, bidder);
  assert.equal(r.json.phase, 'auction');
  assert.ok(r.json.seconds_left > 0 && r.json.seconds_left <= 60, String(r.json.seconds_left));
  assert.equal(r.json.price_fen, 101000000, 'the 竞价 starts from the best 挂牌 offer');
  // A bid 5 s before the end moves it to now + 10 s.
  sql(`UPDATE tenders SET auction_ends_at = ${q(iso(Date.now() + 5000))} WHERE id = ${id}`);
  const before = Date.now();
  r = await bid(id, bidder, { amount: '1050000' });
  assert.equal(r.status, 201, r.text);
  const ends = Date.parse(r.json.auction_ends_at);
  assert.ok(ends >= Math.floor(before / 1000) * 1000 + 9000 && ends <= Date.now() + 11000, r.json.auction_ends_at);
  assert.equal(r.json.me.leading, true);
  // The end passes: the watcher awards to the leader.
  sql(`UPDATE tenders SET auction_ends_at = ${q(iso(Date.now() - 1000))} WHERE id = ${id}`);
  await waitFor(() => sql(`SELECT status FROM tenders WHERE id = ${id}`) === 'awarded');
  assert.equal(sql(`SELECT award_fen || '|' || award_company_id FROM tenders WHERE id = ${id}`), `105000000|${C1}`);
  const notice = sql(`SELECT body FROM tender_notices WHERE tender_id = ${id} AND kind = 'award'`);
  assert.match(notice, /增幅 5\.00%/);
  assert.match(notice, /东港建设集团有限公司/);
  r = await state(id);
  assert.equal(r.json.phase, 'closed');
  assert.equal(r.json.result.company_name, '东港建设集团有限公司');
  assert.equal(r.json.result.premium, '5.00%');
  assertError(await bid(id, company, { amount: '1060000' }), 409, 'not_open');
  assertError(await close(id, staff), 409, 'not_open');
});

test('流标 without offers, 挂牌成交 with one bidder, staff close', async () => {
  const empty = auctionTender({ paid: [C1], deadlineMs: Date.now() + 3600e3 });
  const one = auctionTender({ paid: [C1], deadlineMs: Date.now() + 3600e3, kind: 'emission' });
  assert.equal((await bid(one, bidder, { amount: '1020000' })).status, 201);
  // Stop the watcher racing us: the staff closes these two by hand.
  sql(`UPDATE tenders SET deadline_at = ${q(iso(Date.now() - 1000))} WHERE id IN (${empty}, ${one})`);
  let r = await close(empty, staff);
  if (r.status === 409) r = await state(empty); // the watcher was first: same outcome
  assert.equal(r.json.status, 'failed', r.text);
  assert.match(r.json.result.reason, /流标/);
  r = await state(one);
  assert.equal(r.json.status, 'awarded');
  assert.equal(r.json.result.award_fen, 102000000);
  assert.equal(r.json.result.premium, '2.00%');
  assert.equal(Number(sql(`SELECT COUNT(*) FROM tender_notices WHERE tender_id = ${empty} AND kind = 'failed'`)), 1);
  // Not an auction / a draft: 404.
  sql(`UPDATE tenders SET status = 'draft' WHERE id = ${empty}`);
  assertError(await state(empty), 404);
});
