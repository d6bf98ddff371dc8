// Online evaluation (不见面开评标), publicity, award and contract: the expert pool (staff
// only), the draw with avoidance and the shortfall, the sealed panel, the expert's
// anonymised view (no company names anywhere in the JSON), a bidder refused when
// scoring, compute with each method (综合评分法, 经评审的最低投标价法, 合理低价法) with
// hand-computed ranks, the report (JSON and PDF), publicity with the candidates for the
// public, an objection blocking the award, the award after publicity and the contract.
//
// Tenders in status evaluation with opened bids are seeded through SQL (companies,
// a CA root and certificates are minimal rows); experts are added through the API and
// the rest of the pool is set inactive so that the draw is deterministic.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PASSWORD, dbQuery, errorOf, startServer, uniq } from './server.mjs';

let srv;
let staff, admin, supervisor;
const bidders = []; // {auth, companyId, name, uscc}
const experts = []; // {auth, login, id}
let seq = 0;

// GB 32100-2015 check character for a 17-character prefix.
function uscc(prefix) {
  const A = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += A.indexOf(prefix[i]) * w[i];
  const c = 31 - (sum % 31);
  return prefix + A[c === 31 ? 0 : c];
}

const sql = (s) => dbQuery(srv.dbPath, s);
const q = (s) => `'${String(s).replaceAll("'", "''")}'`;

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
  return e;
}

async function mkUser(role, name) {
  const login = `${role}_${uniq()}`;
  const r = await srv.req('POST', '/api/v1/users', {
    auth: admin, json: { login, password: PASSWORD, role, display_name: name },
  });
  assert.equal(r.status, 201, r.text);
  const s = await srv.loginToken(login);
  return { login, id: s.user.id, auth: { token: s.token } };
}

const NAMES = ['舟山海天建设有限公司', '宁波甬江路桥有限公司', '浙江定海市政工程有限公司',
  '岱山港城建设有限公司', '普陀东海工程有限公司'];

/** A tender in status evaluation with opened bids at the given prices (yuan). */
function seedTender({ method, prices, budget, factor = null, params = '{"price_weight":30}' }) {
  seq += 1;
  const no = `ZS-GC-2026-9${String(seq).padStart(3, '0')}`;
  sql(`INSERT INTO tenders (tender_no, kind, title, buyer, agency, budget_fen, method, method_params,
        status, deadline_at, benchmark_factor, created_at, updated_at)
       VALUES (${q(no)}, 'works', ${q(`评标测试工程${seq}`)}, '舟山市定海区交通运输局', '舟山招标代理有限公司',
        ${budget * 100}, ${q(method)}, ${q(params)}, 'evaluation', '2026-10-01T02:00:00Z',
        ${factor === null ? 'NULL' : factor}, '2026-09-01T00:00:00Z', '2026-09-01T00:00:00Z')`);
  const id = Number(sql(`SELECT id FROM tenders WHERE tender_no = ${q(no)}`));
  prices.forEach((p, i) => {
    const b = bidders[i];
    const at = `2026-09-30T0${i + 1}:00:00Z`;
    sql(`INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, envelope_kind,
          envelope_sha256, envelope_size, commitment_sha256, commitment_sig, receipt, receipt_sig,
          submitted_at, price_fen, duration_days, quality, project_manager, created_at, updated_at)
         VALUES (${id}, ${b.companyId}, ${b.userId}, ${b.certId}, 1, 'opened', 'cms', 'x', 0, 'x', 'x',
          '{}', '', '${at}', ${Math.round(p * 100)}, ${180 + i * 10}, '合格', '项目经理${i}', '${at}', '${at}')`);
  });
  return id;
}

async function drawAll(id, n = 5) {
  const r = await srv.req('POST', `/api/v1/trade/tenders/${id}/experts/draw`, { auth: staff, json: { n } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/** Experts of ours on the panel of tender id (each sees only itself). */
async function panel(id) {
  const out = [];
  for (const x of experts) {
    const r = await srv.req('GET', `/api/v1/trade/tenders/${id}/experts`, { auth: x.auth });
    if (r.status === 200 && r.json.me) out.push(x);
  }
  return out;
}

async function scoreAndSubmit(id, x, scores) {
  let r = await srv.req('PUT', `/api/v1/trade/tenders/${id}/scores`, { auth: x.auth, json: { scores } });
  assert.equal(r.status, 200, r.text);
  r = await srv.req('POST', `/api/v1/trade/tenders/${id}/scores/submit`, { auth: x.auth });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

before(async () => {
  srv = await startServer();
  staff = await srv.loginToken('trading_staff');
  admin = await srv.loginToken('admin');
  supervisor = await srv.loginToken('supervisor');
  // Companies with bidder logins, a CA root and one certificate each.
  sql(`INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, not_after, added_at)
       VALUES ('评标测试CA', 'CN=eval-test', 'eval-test-root', 'rsa', 'x', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
  const root = Number(sql("SELECT id FROM ca_roots WHERE fingerprint = 'eval-test-root'"));
  for (let i = 0; i < NAMES.length; i++) {
    const u = await mkUser('bidder', NAMES[i]);
    const code = uscc(`913309${i}MA2B${String(7000 + i).padStart(6, "0")}`);
    sql(`INSERT INTO trade_companies (uscc, name, created_at, updated_at)
         VALUES ('${code}', ${q(NAMES[i])}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
    const companyId = Number(sql(`SELECT id FROM trade_companies WHERE uscc = '${code}'`));
    sql(`INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES (${u.id}, ${companyId}, '2026-01-01T00:00:00Z')`);
    sql(`INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, subject, issuer, key_type,
          pubkey_sha256, ca_root_id, pem, not_before, not_after, registered_at)
         VALUES (${u.id}, ${companyId}, 'eval-fp-${i}', '01', 'CN=x', 'CN=eval-test', 'rsa', 'k', ${root}, 'x',
          '2026-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
    const certId = Number(sql(`SELECT id FROM trade_certs WHERE fingerprint = 'eval-fp-${i}'`));
    bidders.push({ auth: u.auth, userId: u.id, companyId, name: NAMES[i], uscc: code, certId });
  }
  // The pool: whatever the demo made is set aside; ours are five plus one employed by a
  // bidder (avoided) and one whose only specialty is procurement (not matched).
  sql('UPDATE experts SET active = 0');
  const demoExpert = sql("SELECT id FROM experts WHERE user_id = (SELECT id FROM users WHERE login = 'expert')");
  const demo = await srv.loginToken('expert');
  if (demoExpert) {
    sql(`UPDATE experts SET active = 1, specialties = '["works"]', employer = '浙江海洋大学', employer_uscc = NULL WHERE id = ${demoExpert}`);
    sql(`DELETE FROM expert_conflicts WHERE expert_id = ${demoExpert}`);
  } else {
    const r = await srv.req('POST', '/api/v1/trade/experts', {
      auth: staff, json: { name: '吴专家', specialties: ['works', 'civil'], employer: '浙江海洋大学', user_login: 'expert' },
    });
    assert.equal(r.status, 201, r.text);
  }
  experts.push({ auth: { token: demo.token }, login: 'expert' });
  for (let i = 0; i < 4; i++) {
    const u = await mkUser('expert', `评审专家${i}`);
    const r = await srv.req('POST', '/api/v1/trade/experts', {
      auth: staff,
      json: { name: `评审专家${i}`, specialties: ['works', 'municipal'], employer: '舟山市建筑设计研究院', user_login: u.login },
    });
    assert.equal(r.status, 201, r.text);
    experts.push({ ...u, id: r.json.id });
  }
  // Employed by bidder 0: avoided on every tender below (bidder 0 bids on all).
  const tied = await mkUser('expert', '回避专家');
  let r = await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff,
    json: { name: '回避专家', specialties: ['works'], employer: NAMES[0], employer_uscc: bidders[0].uscc, user_login: tied.login },
  });
  assert.equal(r.status, 201, r.text);
  experts.push({ ...tied, id: r.json.id, tied: true });
  // Tied to the buyer by a declared conflict.
  r = await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff, json: { name: '亲属回避专家', specialties: ['works'], employer: '宁波大学' },
  });
  assert.equal(r.status, 201, r.text);
  r = await srv.req('POST', `/api/v1/trade/experts/${r.json.id}/conflicts`, {
    auth: staff, json: { party: '舟山市定海区交通运输局', reason: '配偶任职于招标人' },
  });
  assert.equal(r.status, 201, r.text);
  r = await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff, json: { name: '采购专家', specialties: ['procurement'], employer: '宁波大学' },
  });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  if (srv) await srv.stop();
});

test('the pool is for trading staff; input is checked', async () => {
  const r = await srv.req('GET', '/api/v1/trade/experts', { auth: staff });
  assert.equal(r.status, 200);
  assert.ok(r.json.items.some((x) => x.name === '回避专家' && x.employer_uscc === bidders[0].uscc));
  assertError(await srv.req('GET', '/api/v1/trade/experts', { auth: bidders[0].auth }), 403);
  assertError(await srv.req('POST', '/api/v1/trade/experts', { auth: experts[0].auth, json: { name: 'x', specialties: ['works'] } }), 403);
  assertError(await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff, json: { name: '坏代码', specialties: ['works'], employer_uscc: '91330900MA2B000000' },
  }), 400, 'invalid_argument', 'employer_uscc');
  assertError(await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff, json: { name: '无专业', specialties: [] },
  }), 400, 'invalid_argument', 'specialties');
  assertError(await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff, json: { name: '重复关联', specialties: ['works'], user_login: 'expert' },
  }), 409, 'conflict', 'user_login');
  assertError(await srv.req('POST', '/api/v1/trade/experts', {
    auth: staff, json: { name: '非专家账号', specialties: ['works'], user_login: 'citizen' },
  }), 400, 'invalid_argument', 'user_login');
});

test('综合评分法: sealed draw, anonymous scoring, compute, report, publicity, objection, award, contract', async () => {
  // A 1,000,000 · B 950,000 · C 980,000 · D 1,200,000 (above the budget 1,100,000).
  const id = seedTender({ method: 'composite', prices: [1000000, 950000, 980000, 1200000], budget: 1100000 });
  const base = `/api/v1/trade/tenders/${id}`;
  // Only the five qualify: seven is a shortfall of two.
  let r = await srv.req('POST', `${base}/experts/draw`, { auth: staff, json: { n: 7 } });
  const e = assertError(r, 409, 'conflict', 'n');
  assert.match(e.message, /仅 5 名.*还差 2 名/);
  assertError(await srv.req('POST', `${base}/experts/draw`, { auth: staff, json: { n: 4 } }), 400, 'invalid_argument', 'n');
  assertError(await srv.req('POST', `${base}/experts/draw`, { auth: bidders[0].auth, json: { n: 5 } }), 403);
  const drawn = await drawAll(id);
  assert.deepEqual([drawn.sealed, drawn.count, drawn.items], [true, 5, undefined]);
  assertError(await srv.req('POST', `${base}/experts/draw`, { auth: staff, json: { n: 5 } }), 409);
  // Avoided experts are not on the panel (checked in the table: the API keeps it sealed).
  const tiedId = experts.find((x) => x.tied).id;
  assert.equal(sql(`SELECT COUNT(*) FROM tender_experts WHERE tender_id = ${id} AND expert_id = ${tiedId}`), '0');
  assert.equal(sql(`SELECT COUNT(*) FROM tender_experts t JOIN experts x ON x.id = t.expert_id WHERE t.tender_id = ${id} AND x.name IN ('亲属回避专家', '采购专家')`), '0');
  // Sealed: staff and supervisors see counts, bidders nothing, an expert itself.
  r = await srv.req('GET', `${base}/experts`, { auth: staff });
  assert.equal(r.status, 200);
  assert.equal(r.json.count, 5);
  assert.equal(r.json.items, undefined);
  assert.ok(!r.text.includes('评审专家') && !r.text.includes('吴专家'));
  r = await srv.req('GET', `${base}/experts`, { auth: supervisor });
  assert.equal(r.json.items, undefined);
  assertError(await srv.req('GET', `${base}/experts`, { auth: bidders[1].auth }), 403);
  const members = await panel(id);
  assert.equal(members.length, 5);
  assert.ok(!members.some((x) => x.tied));
  // The desk: the expert's own tasks; staff the progress; bidders nothing.
  r = await srv.req('GET', '/api/v1/trade/evaluations', { auth: members[0].auth });
  assert.equal(r.status, 200);
  const task = r.json.items.find((x) => x.id === id);
  assert.deepEqual([task.status, task.submitted, task.report], ['evaluation', false, false]);
  r = await srv.req('GET', '/api/v1/trade/evaluations', { auth: staff });
  assert.deepEqual((({ panel: p, submitted }) => [p, submitted])(r.json.items.find((x) => x.id === id)), [5, 0]);
  assertError(await srv.req('GET', '/api/v1/trade/evaluations', { auth: bidders[0].auth }), 403);
  r = await srv.req('GET', `${base}/evaluation`, { auth: staff });
  assert.ok(!r.text.includes('评审专家') && !r.text.includes('吴专家'), 'staff do not see the names before the report');

  // The expert's view: 投标人A–D with prices, never a company name or code.
  r = await srv.req('GET', `${base}/evaluation`, { auth: members[0].auth });
  assert.equal(r.status, 200);
  assert.equal(r.json.view, 'expert');
  assert.deepEqual(r.json.bids.map((b) => b.ref), ['A', 'B', 'C', 'D']);
  assert.deepEqual(r.json.bids.map((b) => b.price), ['1000000.00', '950000.00', '980000.00', '1200000.00']);
  assert.equal(r.json.bids[3].over_budget, true);
  for (const b of bidders) {
    assert.ok(!r.text.includes(b.name), `expert view leaks ${b.name}`);
    assert.ok(!r.text.includes(b.uscc));
  }
  assert.ok(!/company|uscc|bid_id|项目经理/.test(r.text), r.text);

  // A bidder cannot score; a score above the weight is refused by field.
  const one = [{ bid_ref: 'A', tech_score: 50 }];
  assertError(await srv.req('PUT', `${base}/scores`, { auth: bidders[0].auth, json: { scores: one } }), 403);
  assertError(await srv.req('PUT', `${base}/scores`, { auth: members[0].auth, json: { scores: [{ bid_ref: 'A', tech_score: 70.5 }] } }),
    400, 'invalid_argument', 'scores[0].tech_score');
  assertError(await srv.req('POST', `${base}/scores/submit`, { auth: members[0].auth }), 409, 'conflict', 'scores');
  assertError(await srv.req('POST', `${base}/evaluation/compute`, { auth: staff }), 409, 'conflict', 'experts');

  // Four experts agree; the fifth gives A 20 (an outlier, kept and flagged).
  for (let k = 0; k < 5; k++) {
    await scoreAndSubmit(id, members[k], [
      { bid_ref: 'A', tech_score: k === 4 ? 20 : 60, comment: '技术方案完整' },
      { bid_ref: 'B', tech_score: 55 }, { bid_ref: 'C', tech_score: 50 }, { bid_ref: 'D', tech_score: 65 },
    ]);
  }
  assertError(await srv.req('PUT', `${base}/scores`, { auth: members[0].auth, json: { scores: one } }), 409, 'conflict', 'submitted');
  assertError(await srv.req('POST', `${base}/evaluation/compute`, { auth: bidders[0].auth }), 403);
  r = await srv.req('POST', `${base}/evaluation/compute`, { auth: staff });
  assert.equal(r.status, 200, r.text);
  // A: tech (60×4+20)/5 = 52, price 950000/1000000 × 30 = 28.5 → 80.5; B: 30 + 55 = 85;
  // C: 950000/980000 × 30 = 29.08 + 50 = 79.08; D invalid (最高限价).
  const res = r.json.results;
  assert.deepEqual(res.map((x) => [x.ref, x.rank, x.total_score]),
    [['B', 1, 85], ['A', 2, 80.5], ['C', 3, 79.08], ['D', null, 0]]);
  assert.equal(res[3].valid, false);
  assert.match(res[3].reason, /最高限价/);
  assert.equal(res[1].outliers.length, 1);
  assert.equal(res[1].outliers[0].score, 20);
  assert.equal(res[1].outliers[0].others_mean, 60);
  assert.equal(r.json.panel.items.length, 5, 'the report unseals the panel');
  // The report as JSON and PDF: staff and the panel, not bidders.
  r = await srv.req('GET', `${base}/evaluation/report`, { auth: members[1].auth });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.reference, '950000.00');
  assertError(await srv.req('GET', `${base}/evaluation/report`, { auth: bidders[0].auth }), 403);
  r = await srv.req('GET', `${base}/evaluation/report.pdf`, { auth: staff });
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.equal(r.headers.get('content-type'), 'application/pdf');
  assert.ok(r.text.startsWith('%PDF'));
  assertError(await srv.req('GET', `${base}/evaluation/report.pdf`, { auth: bidders[0].auth }), 403);
  // After the report the expert sees the names.
  r = await srv.req('GET', `${base}/evaluation`, { auth: members[0].auth });
  assert.ok(r.text.includes(NAMES[1]));

  // Before publicity the public sees no candidates; objections are refused.
  r = await srv.req('GET', `${base}/evaluation`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.candidates, []);
  assertError(await srv.req('POST', `${base}/objections`, { auth: bidders[0].auth, json: { text: '早' } }), 409);
  assertError(await srv.req('POST', `${base}/award`, { auth: staff }), 409, 'conflict', 'status');
  r = await srv.req('POST', `${base}/publicize`, { auth: staff });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.tender.status, 'publicity');
  const notice = sql(`SELECT body FROM tender_notices WHERE tender_id = ${id} AND kind = 'candidates'`);
  assert.match(notice, /第一中标候选人：宁波甬江路桥有限公司，投标报价 ¥950,000\.00，综合得分 85\.00/);
  r = await srv.req('GET', `${base}/evaluation`);
  assert.deepEqual(r.json.candidates.map((c) => c.company_name), [NAMES[1], NAMES[0], NAMES[2]]);
  assert.equal(r.json.candidates[0].ref, undefined);
  // Objection by a bidder (not by an outsider), staff reply; award gated on both.
  assertError(await srv.req('POST', `${base}/objections`, { auth: bidders[4].auth, json: { text: '异议' } }), 403);
  assertError(await srv.req('POST', `${base}/objections`, { auth: bidders[0].auth, json: { text: '' } }), 400, 'invalid_argument', 'text');
  r = await srv.req('POST', `${base}/objections`, { auth: bidders[0].auth, json: { text: '第一中标候选人类似业绩存疑' } });
  assert.equal(r.status, 201, r.text);
  const oid = r.json.id;
  r = await srv.req('GET', `${base}/evaluation`, { auth: bidders[0].auth });
  assert.equal(r.json.my_objections.length, 1);
  assert.equal(r.json.can_object, true);
  assertError(await srv.req('POST', `${base}/award`, { auth: staff }), 409, 'conflict', 'publicity_until');
  sql(`UPDATE tenders SET publicity_until = '2026-01-01T00:00:00Z' WHERE id = ${id}`);
  assertError(await srv.req('POST', `${base}/award`, { auth: staff }), 409, 'conflict', 'objections');
  assertError(await srv.req('POST', `${base}/objections/${oid}/reply`, { auth: bidders[0].auth, json: { reply: 'x' } }), 403);
  r = await srv.req('POST', `${base}/objections/${oid}/reply`, { auth: staff, json: { reply: '经核查，业绩真实有效，维持评标结果。' } });
  assert.equal(r.status, 200, r.text);
  assertError(await srv.req('POST', `${base}/objections/${oid}/reply`, { auth: staff, json: { reply: '再答' } }), 409);
  assertError(await srv.req('POST', `${base}/objections/99999/reply`, { auth: staff, json: { reply: '无' } }), 404);
  r = await srv.req('POST', `${base}/award`, { auth: staff });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.award.company_name, NAMES[1]);
  assert.equal(r.json.award.award, '950000.00');
  assert.equal(r.json.award.savings_rate, 0.1364); // (1,100,000 − 950,000) / 1,100,000
  assert.match(sql(`SELECT body FROM tender_notices WHERE tender_id = ${id} AND kind = 'award'`), /节约率 13\.64%/);
  // Contract.
  assertError(await srv.req('POST', `${base}/contract`, { auth: staff, json: { contract_no: '' } }), 400, 'invalid_argument', 'contract_no');
  assertError(await srv.req('POST', `${base}/contract`, { auth: staff, json: { contract_no: 'HT-1', contract_amount: '1.234' } }), 400, 'invalid_argument', 'contract_amount');
  r = await srv.req('POST', `${base}/contract`, { auth: staff, json: { contract_no: 'HT-2026-0901', contract_amount: '950000.00' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.tender.status, 'contracted');
  assert.equal(r.json.award.contract_no, 'HT-2026-0901');
  assertError(await srv.req('POST', `${base}/contract`, { auth: staff, json: { contract_no: 'HT-2' } }), 409);
  // The audit trail holds the steps.
  const actions = sql(`SELECT action FROM audit_log WHERE object_type = 'tender' AND object_id = '${id}' ORDER BY id`).split('\n');
  for (const a of ['evaluate.draw', 'evaluate.scores', 'evaluate.submit', 'evaluate.compute', 'evaluate.publicize',
    'evaluate.objection', 'evaluate.objection_reply', 'evaluate.award', 'evaluate.contract']) {
    assert.ok(actions.includes(a), `audit ${a}`);
  }
});

test('经评审的最低投标价法: qualification by majority, ties to the earlier bid', async () => {
  // A 900,000 · B 850,000 (two of three experts fail it) · C 880,000 · D 880,000 (later).
  const id = seedTender({ method: 'lowest_price', prices: [900000, 850000, 880000, 880000], budget: 1000000 });
  const base = `/api/v1/trade/tenders/${id}`;
  await drawAll(id, 3);
  const members = await panel(id);
  assert.equal(members.length, 3);
  let r = await srv.req('GET', `${base}/evaluation`, { auth: members[0].auth });
  assert.equal(r.json.tender.scoring, 'qualification');
  assertError(await srv.req('PUT', `${base}/scores`, { auth: members[0].auth, json: { scores: [{ bid_ref: 'B', pass: false }] } }),
    400, 'invalid_argument', 'scores[0].reason');
  for (let k = 0; k < 3; k++) {
    await scoreAndSubmit(id, members[k], [
      { bid_ref: 'A', pass: true }, { bid_ref: 'B', pass: k === 0, reason: '项目经理证书过期' },
      { bid_ref: 'C', pass: true }, { bid_ref: 'D', pass: true },
    ]);
  }
  r = await srv.req('POST', `${base}/evaluation/compute`, { auth: staff });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => [x.ref, x.rank]), [['C', 1], ['D', 2], ['A', 3], ['B', null]]);
  assert.match(r.json.results[3].reason, /资格审查未通过（2\/3/);
});

test('合理低价法: benchmark from the trimmed mean × the drawn factor; too few valid bids fail', async () => {
  // Five valid: drop 1,000,000 and 800,000 → (960,000 + 920,000 + 880,000) / 3 = 920,000,
  // × 0.96 = 883,200 → 880,000 first, then 920,000, 960,000, 800,000, 1,000,000.
  const id = seedTender({ method: 'reasonable_low', prices: [1000000, 960000, 920000, 880000, 800000], budget: 1100000, factor: 0.96 });
  const base = `/api/v1/trade/tenders/${id}`;
  await drawAll(id, 3);
  const members = await panel(id);
  for (const m of members) {
    await scoreAndSubmit(id, m, ['A', 'B', 'C', 'D', 'E'].map((ref) => ({ bid_ref: ref, pass: true })));
  }
  let r = await srv.req('POST', `${base}/evaluation/compute`, { auth: staff });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => x.ref), ['D', 'C', 'B', 'E', 'A']);
  r = await srv.req('GET', `${base}/evaluation/report`, { auth: staff });
  assert.equal(r.json.reference, '883200.00');

  // Two valid bids (one above the budget): 流标 through the tenders part.
  const id2 = seedTender({ method: 'reasonable_low', prices: [900000, 950000, 1200000], budget: 1000000, factor: 0.97 });
  await drawAll(id2, 3);
  for (const m of await panel(id2)) {
    await scoreAndSubmit(id2, m, ['A', 'B', 'C'].map((ref) => ({ bid_ref: ref, pass: true })));
  }
  r = await srv.req('POST', `/api/v1/trade/tenders/${id2}/evaluation/compute`, { auth: staff });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.tender.status, 'failed');
  assert.equal(sql(`SELECT COUNT(*) FROM tender_notices WHERE tender_id = ${id2} AND kind = 'failed'`), '1');
  assertError(await srv.req('POST', `/api/v1/trade/tenders/${id2}/publicize`, { auth: staff }), 409);
});

test('unknown tenders and ids are 404; anonymous callers cannot act', async () => {
  assertError(await srv.req('GET', '/api/v1/trade/tenders/999999/evaluation'), 404);
  assertError(await srv.req('GET', '/api/v1/trade/tenders/abc/evaluation'), 404);
  assertError(await srv.req('POST', '/api/v1/trade/tenders/999999/experts/draw', { auth: staff, json: {} }), 404);
  const r = await srv.req('PUT', '/api/v1/trade/tenders/1/scores', { json: { scores: [] } });
  assert.equal(r.status, 401);
});
