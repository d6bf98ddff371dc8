// Trading indicators (GET /api/v1/stats/trading, `isle stats trading`) over the demo
// trading year (ISLE_DEMO_TENDERS=60 in the test servers): the answer's shape, figures
// that agree with plain SQL over the same tables, the kind filter, refusals naming
// the field, the CLI printing the same, and `isle demo` adding nothing the second time.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { dbQuery, errorOf, runIsleOk, startServer } from './server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const IDS = ['trade.projects', 'trade.amount', 'trade.savings', 'trade.savings_rate',
  'trade.premium_rate', 'trade.e_rate', 'trade.remote_openings', 'trade.remote_rate',
  'trade.ca_rate', 'trade.failed_rate', 'trade.max_bidders'];
const num = (sql) => Number(dbQuery(srv.dbPath, sql) || 0);
const round2 = (x) => Math.round(x * 100) / 100;

test('public figures with the pinned shape, consistent with SQL counts', async () => {
  const r = await srv.req('GET', '/api/v1/stats/trading');
  assert.equal(r.status, 200, r.text);
  const o = r.json;
  assert.match(o.window.from, /^\d{4}-\d{2}-\d{2}$/);
  assert.deepEqual(Object.keys(o.indicators).sort(), [...IDS].sort());
  for (const id of IDS) {
    for (const k of ['name', 'value', 'unit', 'target']) assert.ok(k in o.indicators[id], `${id}.${k}`);
  }
  const v = (id) => o.indicators[id].value;
  const tenders = num('SELECT COUNT(*) FROM tenders');
  assert.equal(tenders, 60);
  assert.equal(v('trade.projects'), tenders);
  const amount = num("SELECT SUM(award_fen) FROM tenders WHERE status IN ('awarded', 'contracted')");
  assert.equal(v('trade.amount'), round2(amount / 1e10));
  // scaled to the city: 200.06亿 for 521 projects
  assert.ok(Math.abs(v('trade.amount') - 200.06 * 60 / 521) < 200.06 * 60 / 521 * 0.15, `${v('trade.amount')}`);
  const budget = num("SELECT SUM(budget_fen) FROM tenders WHERE status IN ('awarded', 'contracted') AND budget_fen IS NOT NULL");
  const award = num("SELECT SUM(award_fen) FROM tenders WHERE status IN ('awarded', 'contracted') AND budget_fen IS NOT NULL");
  assert.equal(v('trade.savings_rate'), round2(100 * (budget - award) / budget));
  assert.equal(o.indicators['trade.savings_rate'].denominator, budget);
  assert.ok(v('trade.savings_rate') > 3 && v('trade.savings_rate') < 9, `${v('trade.savings_rate')}`);
  const electronic = num('SELECT SUM(electronic) FROM tenders');
  assert.equal(v('trade.e_rate'), round2(100 * electronic / tenders));
  const remote = num('SELECT COUNT(*) FROM openings o JOIN tenders t ON t.id = o.tender_id WHERE t.remote_opening = 1');
  const openings = num('SELECT COUNT(*) FROM openings');
  assert.equal(v('trade.remote_openings'), remote);
  assert.equal(v('trade.remote_rate'), round2(100 * remote / openings));
  // certificate logins of the window (the demo's span a year back from now: one may fall
  // just outside the window's first day)
  const inWindow = `WHERE at >= '${o.window.from_at}' AND at < '${o.window.to_at}'`;
  const logins = num(`SELECT COUNT(*) FROM ca_logins ${inWindow}`);
  const foreign = num(`SELECT SUM(foreign_ca) FROM ca_logins ${inWindow}`);
  assert.equal(v('trade.ca_rate'), round2(100 * foreign / logins));
  assert.ok(v('trade.ca_rate') > 40 && v('trade.ca_rate') < 80);
  const maxBidders = num("SELECT MAX(n) FROM (SELECT tender_id, COUNT(*) AS n FROM bids WHERE status = 'opened' GROUP BY tender_id) x");
  assert.equal(v('trade.max_bidders'), maxBidders);
  // by kind adds up; the sentence mirrors the city's
  assert.equal(o.by_kind.length, 5);
  assert.equal(o.by_kind.reduce((s, k) => s + k.projects, 0), tenders);
  assert.equal(o.by_kind.reduce((s, k) => s + k.amount_fen, 0), amount);
  assert.equal(o.by_month.reduce((s, m) => s + m.projects, 0), tenders);
  assert.ok(o.sentence.startsWith(`累计进场交易项目${tenders}项，交易金额`), o.sentence);
  // nothing personal: no company names or ids in the public answer
  assert.doesNotMatch(r.text, /有限公司|uscc|company_id/);
});

test('the kind filter narrows every figure', async () => {
  const r = await srv.req('GET', '/api/v1/stats/trading?kind=works&from=2020-01-01');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.filters.kind, 'works');
  assert.equal(r.json.indicators['trade.projects'].value, num("SELECT COUNT(*) FROM tenders WHERE kind = 'works'"));
  assert.deepEqual(r.json.by_kind.map((k) => k.kind), ['works']);
  assert.equal(r.json.indicators['trade.premium_rate'].value, null);
  const land = await srv.req('GET', '/api/v1/stats/trading?kind=land');
  assert.equal(land.status, 200);
  assert.equal(land.json.indicators['trade.savings_rate'].value, null);
});

test('bad parameters are refused naming the field', async () => {
  for (const [q, field] of [['kind=fishing', 'kind'], ['from=2026-13-01', 'from'],
    ['to=yesterday', 'to'], ['from=2026-02-01&to=2026-01-01', 'from'], ['department=x', 'department']]) {
    const r = await srv.req('GET', `/api/v1/stats/trading?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(errorOf(r).field, field, q);
  }
});

test('the CLI prints the same figures, and a second demo adds nothing', async () => {
  const api = (await srv.req('GET', '/api/v1/stats/trading')).json;
  const cli = JSON.parse(runIsleOk(['--db', srv.dbPath, 'stats', 'trading', '--json']).stdout);
  assert.deepEqual(cli.indicators, api.indicators);
  assert.deepEqual(cli.by_kind, api.by_kind);
  const text = runIsleOk(['--db', srv.dbPath, 'stats', 'trading']).stdout;
  assert.match(text, /累计进场交易项目60项，交易金额[\d.]+亿元，节约资金[\d.]+亿元，平均节约率[\d.]+%/);
  assert.match(text, /不见面开标率/);
  const before2 = num('SELECT COUNT(*) FROM bids');
  const again = runIsleOk(['--db', srv.dbPath, 'demo']).stdout;
  assert.match(again, /trading: demo year already present/);
  assert.equal(num('SELECT COUNT(*) FROM bids'), before2);
  assert.equal(num('SELECT COUNT(*) FROM tenders'), 60);
  // the planted ground truth is there for the screening
  assert.ok(num('SELECT COUNT(DISTINCT group_no) FROM trade_demo_planted') >= 1);
});
