// API tests of 防围串标 in the platform (src/screen/platform.c, /api/v1/screen/*):
// a screening run over the demo trading year finds every tender of the planted
// collusive groups with hard evidence and raises hard evidence on no other tender;
// the queue puts hard evidence first; only supervisors and admins get in; triage
// rules (a reason to dismiss, stale versions, reopening); a later run never undoes a
// triage; a case (立案) collects notes and evidence, attaches alerts once, closes with
// a decision, refuses changes after that, and exports a PDF dossier; every step is
// audited.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dbQuery, errorOf, startServer } from './server.mjs';

let srv;
const tok = {};

before(async () => {
  srv = await startServer({ env: { ISLE_SCREEN_SCAN_MS: '0' } });
  for (const l of ['supervisor', 'admin', 'bidder', 'trading_staff', 'citizen']) tok[l] = await srv.loginToken(l);
});
after(async () => {
  await srv?.stop();
});

const as = (who) => tok[who].token;
const get = (who, p) => srv.req('GET', p, { token: who ? as(who) : undefined });
const post = (who, p, json = {}) => srv.req('POST', p, { token: as(who), json });

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

let alertId = 0;

test('only supervisors and admins reach screening results', async () => {
  for (const who of ['bidder', 'trading_staff', 'citizen']) assertError(await get(who, '/api/v1/screen/alerts'), 403, 'permission_denied');
  assert.equal((await get(null, '/api/v1/screen/alerts')).status, 401);
  assert.equal((await get('admin', '/api/v1/screen/alerts')).status, 200);
});

test('a run flags exactly the tenders of the planted groups with hard evidence', async () => {
  const r = await post('supervisor', '/api/v1/screen/run');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.tenders > 10, `screened ${r.json.tenders}`);
  assert.ok(r.json.flagged >= 1);
  // Ground truth: tenders where two members of one planted group bid together.
  const planted = dbQuery(
    srv.dbPath,
    `SELECT DISTINCT b.tender_id FROM bids b JOIN trade_demo_planted p ON p.company_id = b.company_id
     WHERE b.status = 'opened' GROUP BY b.tender_id, p.group_no HAVING COUNT(*) >= 2 ORDER BY 1`,
  ).split('\n').filter(Boolean).map(Number);
  assert.ok(planted.length >= 1, 'the demo plants at least one group');
  const hard = dbQuery(srv.dbPath, 'SELECT tender_id FROM screen_alerts WHERE hard = 1 ORDER BY 1').split('\n').filter(Boolean).map(Number);
  const setP = new Set(planted);
  const found = hard.filter((t) => setP.has(t)).length;
  assert.ok(found / planted.length >= 0.9, `recall ${found}/${planted.length}`);
  assert.ok(found / hard.length >= 0.95, `precision ${found}/${hard.length}`);
  // Price-only flags stay rare: the cut is relative to this market.
  const flagged = Number(dbQuery(srv.dbPath, 'SELECT COUNT(*) FROM screen_alerts WHERE flag = 1 AND hard = 0'));
  const all = Number(dbQuery(srv.dbPath, 'SELECT COUNT(*) FROM screen_alerts'));
  assert.ok(flagged <= Math.ceil(all * 0.05) + 1, `price-only flags ${flagged} of ${all}`);

  // The queue: hard evidence first, each with its legal article.
  const q = await get('supervisor', '/api/v1/screen/alerts');
  assert.equal(q.status, 200);
  assert.ok(q.json.items.length >= 1);
  assert.equal(q.json.items[0].hard, true);
  assert.match(q.json.items[0].reasons, /art\.40\(\d\)/);
  alertId = q.json.items[0].id;
  const one = await get('supervisor', `/api/v1/screen/alerts/${alertId}`);
  assert.equal(one.status, 200);
  const ev = one.json.evidence;
  assert.ok(ev.traces.length >= 1 || ev.patterns.progression_len || ev.patterns.ratio_len || ev.patterns.identical_pairs);
  for (const tr of ev.traces) assert.match(tr.article, /^40\(\d\)$/);
  assert.ok(ev.bids.length >= 3);
  assert.ok(Array.isArray(ev.network.nodes) && Array.isArray(ev.network.edges));
  assert.equal(ev.screens.find((f) => f.name === 'n').value, ev.bids.length);
});

test('triage: a reason to dismiss, stale versions refused, reopen, and runs never undo it', async () => {
  const a = (await get('supervisor', `/api/v1/screen/alerts/${alertId}`)).json;
  assertError(await post('supervisor', `/api/v1/screen/alerts/${alertId}/triage`, { action: 'dismiss' }), 400, 'invalid_argument', 'reason');
  assertError(await post('supervisor', `/api/v1/screen/alerts/${alertId}/triage`, { action: 'shred' }), 400, 'invalid_argument', 'action');
  assertError(await post('supervisor', `/api/v1/screen/alerts/${alertId}/triage`, { action: 'watch', version: a.version + 5 }), 409, 'conflict', 'version');
  assertError(await post('supervisor', '/api/v1/screen/alerts/999999/triage', { action: 'watch' }), 404);
  let r = await post('supervisor', `/api/v1/screen/alerts/${alertId}/triage`, { action: 'dismiss', reason: '同一集团下属公司，依法可共同投标', version: a.version });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'dismissed');
  assertError(await post('supervisor', `/api/v1/screen/alerts/${alertId}/triage`, { action: 'dismiss', reason: 'again' }), 409, 'conflict', 'status');
  // A new run refreshes the evidence but keeps the triage.
  assert.equal((await post('supervisor', '/api/v1/screen/run')).status, 200);
  assert.equal((await get('supervisor', `/api/v1/screen/alerts/${alertId}`)).json.status, 'dismissed');
  assert.equal((await get('supervisor', '/api/v1/screen/alerts')).json.items.some((x) => x.id === alertId), false, 'not in the open queue');
  r = await post('supervisor', `/api/v1/screen/alerts/${alertId}/triage`, { action: 'reopen' });
  assert.equal(r.json.status, 'new');
});

test('a case (立案) collects evidence, closes with a decision, and exports a dossier', async () => {
  const r = await post('supervisor', `/api/v1/screen/alerts/${alertId}/triage`, { action: 'open_case', reason: '电子痕迹指向同一编制人，立案调查' });
  assert.equal(r.status, 200, r.text);
  const caseId = r.json.case_id;
  assert.ok(caseId > 0);
  assert.equal(r.json.status, 'case');
  let c = (await get('supervisor', `/api/v1/screen/cases/${caseId}`)).json;
  assert.match(c.case_no, /^WB\d{6}\d{5}$/);
  assert.equal(c.alerts.length, 1);
  assert.equal(c.entries[0].text, '电子痕迹指向同一编制人，立案调查');
  assertError(await post('supervisor', `/api/v1/screen/cases/${caseId}/entries`, { kind: 'gossip', text: 'x' }), 400, 'invalid_argument', 'kind');
  assert.equal((await post('supervisor', `/api/v1/screen/cases/${caseId}/entries`, { kind: 'evidence', text: '保证金银行流水' })).status, 200);
  assertError(await post('supervisor', `/api/v1/screen/cases/${caseId}/alerts`, { alert_id: alertId }), 409, 'conflict', 'alert_id');
  // Another flagged alert joins the case.
  const other = (await get('supervisor', '/api/v1/screen/alerts?status=new')).json.items.find((x) => x.id !== alertId);
  if (other) {
    c = (await post('supervisor', `/api/v1/screen/cases/${caseId}/alerts`, { alert_id: other.id })).json;
    assert.equal(c.alerts.length, 2);
    assert.equal((await get('supervisor', `/api/v1/screen/alerts/${other.id}`)).json.status, 'case');
  }
  const pdf = await srv.req('GET', `/api/v1/screen/cases/${caseId}/dossier.pdf`, { token: as('supervisor') });
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers.get('content-type'), 'application/pdf');
  assert.ok(pdf.text.startsWith('%PDF-'));
  assertError(await post('supervisor', `/api/v1/screen/cases/${caseId}/close`, {}), 400, 'invalid_argument', 'decision');
  c = (await post('supervisor', `/api/v1/screen/cases/${caseId}/close`, { decision: '移送行政监督部门处理' })).json;
  assert.equal(c.status, 'closed');
  assert.equal(c.decision, '移送行政监督部门处理');
  assertError(await post('supervisor', `/api/v1/screen/cases/${caseId}/entries`, { kind: 'note', text: '补充' }), 409, 'conflict', 'status');
  assertError(await post('supervisor', `/api/v1/screen/cases/${caseId}/close`, { decision: 'again' }), 409);
  const list = (await get('supervisor', '/api/v1/screen/cases?status=closed')).json;
  assert.ok(list.items.some((x) => x.id === caseId));
  // Audited: the alert's triage, the case's opening, entries and closing.
  const audit = dbQuery(srv.dbPath, "SELECT action FROM audit_log WHERE action LIKE 'screen%' ORDER BY id").split('\n');
  for (const a of ['screen.alert_triage', 'screen.alert_case', 'screen_case.open', 'screen_case.entry', 'screen_case.close'])
    assert.ok(audit.includes(a), `audit has ${a}`);
});
