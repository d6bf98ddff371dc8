// OCDS 1.1.5 export (src/trade/ocds.c): `isle export ocds` and GET /api/v1/ocds/releases
// validated with ajv against data/ocds/release-package-schema.json and the release
// schema with the bids extension merged in (JSON Merge Patch, as the OCDS docs
// describe). Tenders in every state are seeded with SQL (the tenders/bids/opening parts
// have their own tests): announced (with a sealed bid that must stay invisible), an
// amendment, opened with bids (evaluation), awarded with a contract, failed, cancelled,
// a draft (never exported), and an auction driven through the auction API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { dbQuery, runIsle, startServer } from './server.mjs';
import { assertValidPackage, buildValidator } from './trade-ocds-schema.mjs';

let srv;
let validatePackage;
const T = {}; // tender ids by state
const uid = Date.now().toString(36).toUpperCase();
const no = (s) => `ZS-OC-${uid}-${s}`;

// ---- the schema: see trade-ocds-schema.mjs ----

function assertValid(pkg, what) {
  assertValidPackage(validatePackage, pkg, what);
}

// ---- seeding ----

const q = (v) => (v === null || v === undefined ? 'NULL'
  : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

function insert(table, row) {
  const cols = Object.keys(row);
  dbQuery(srv.dbPath, `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => q(row[c])).join(', ')})`);
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const NOW = Date.now();
const DAY = 86400000;

function company(uscc, name) {
  dbQuery(srv.dbPath, `INSERT INTO trade_companies (uscc, name, created_at, updated_at) VALUES
    (${q(uscc)}, ${q(name)}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') ON CONFLICT (uscc) DO NOTHING`);
  return Number(dbQuery(srv.dbPath, `SELECT id FROM trade_companies WHERE uscc = ${q(uscc)}`));
}

/** The company of a demo user, linking one when the demo did not. */
function companyOf(login, uscc, name) {
  const user = Number(dbQuery(srv.dbPath, `SELECT id FROM users WHERE login = ${q(login)}`));
  const c = company(uscc, name);
  dbQuery(srv.dbPath, `INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES
    (${user}, ${c}, '2026-01-01T00:00:00Z') ON CONFLICT (user_id) DO NOTHING`);
  return { user, company: Number(dbQuery(srv.dbPath, `SELECT company_id FROM trade_company_users WHERE user_id = ${user}`)) };
}

function tender(key, o) {
  insert('tenders', {
    tender_no: no(key), kind: 'works', title: `测试项目 ${key}`, buyer: '舟山市定海区住房和城乡建设局',
    method: 'lowest_price', status: 'announced', budget_fen: 123456789, deposit_fen: 0,
    announce_at: iso(NOW - 20 * DAY), deadline_at: iso(NOW + 10 * DAY),
    created_at: iso(NOW - 21 * DAY), updated_at: iso(NOW - DAY), ...o,
  });
  T[key] = Number(dbQuery(srv.dbPath, `SELECT id FROM tenders WHERE tender_no = ${q(no(key))}`));
  return T[key];
}

let certId;
let bidSeq = 0;
function bid(tenderId, companyId, user, status, priceFen) {
  bidSeq++;
  insert('bids', {
    tender_id: tenderId, company_id: companyId, user_id: user, cert_id: certId, seq: bidSeq,
    status, envelope_kind: 'cms', envelope_sha256: 'a'.repeat(64), envelope_size: 100,
    commitment_sha256: 'b'.repeat(64), commitment_sig: 'c2ln', receipt: '{}', receipt_sig: 'c2ln',
    submitted_at: iso(NOW - 3 * DAY), price_fen: priceFen ?? null,
    created_at: iso(NOW - 3 * DAY), updated_at: iso(NOW - 2 * DAY),
  });
  return Number(dbQuery(srv.dbPath, `SELECT MAX(id) FROM bids`));
}

let bidder, companyU;
before(async () => {
  validatePackage = buildValidator();
  srv = await startServer({ env: { ISLE_AUCTION_SCAN_MS: '0' } });
  bidder = companyOf('bidder', '91330900MA2OC0001A', '东港建设集团有限公司');
  companyU = companyOf('company', '91330900MA2OC0002B', '舟渔水产有限公司');
  const c3 = company('91330900MA2OC0003C', '普陀海建工程有限公司');
  insert('ca_roots', {
    name: '测试CA', subject: `CN=Test ${uid}`, fingerprint: `f${uid}`.padEnd(64, '0').toLowerCase(),
    key_type: 'rsa', pem: '-', not_after: '2030-01-01T00:00:00Z', added_at: '2026-01-01T00:00:00Z',
  });
  const root = Number(dbQuery(srv.dbPath, `SELECT MAX(id) FROM ca_roots`));
  insert('trade_certs', {
    user_id: bidder.user, company_id: bidder.company, fingerprint: `e${uid}`.padEnd(64, '0').toLowerCase(),
    serial: '01', subject: 'CN=b', issuer: 'CN=Test', key_type: 'rsa', pubkey_sha256: 'd'.repeat(64),
    ca_root_id: root, pem: '-', not_before: '2026-01-01T00:00:00Z', not_after: '2030-01-01T00:00:00Z',
    registered_at: '2026-01-01T00:00:00Z',
  });
  certId = Number(dbQuery(srv.dbPath, `SELECT MAX(id) FROM trade_certs`));

  // Announced, with a sealed bid and a lot list: no bids, no numberOfTenderers.
  tender('announced', { lots: JSON.stringify([{ no: 1, name: '一标段', budget_fen: 60000000 }, { no: 2, name: '二标段', budget_fen: 63456789 }]) });
  bid(T.announced, bidder.company, bidder.user, 'sealed');
  // Announced with an amendment notice: tag tenderAmendment.
  tender('amended', { kind: 'procurement', method: 'composite', agency: '浙江舟山招标代理有限公司' });
  insert('tender_notices', { tender_id: T.amended, kind: 'amendment', title: '变更公告', body: '截止时间顺延', created_at: iso(NOW - 2 * DAY) });
  // Opened (evaluation): bids with prices, one invalid.
  tender('opened', { status: 'evaluation', deadline_at: iso(NOW - 3 * DAY) });
  bid(T.opened, bidder.company, bidder.user, 'opened', 110000000);
  bid(T.opened, companyU.company, bidder.user, 'opened', 115000050);
  bid(T.opened, c3, bidder.user, 'invalid', 90000000);
  bid(T.opened, c3, bidder.user, 'replaced', 95000000); // replaced: never listed
  // Awarded with a contract.
  tender('contracted', { status: 'contracted', deadline_at: iso(NOW - 30 * DAY) });
  const win = bid(T.contracted, companyU.company, bidder.user, 'opened', 100000000);
  bid(T.contracted, bidder.company, bidder.user, 'opened', 101000000);
  bid(T.contracted, c3, bidder.user, 'opened', 102000000);
  insert('tender_results', { tender_id: T.contracted, bid_id: win, company_id: companyU.company, valid: 1, price_fen: 100000000, total_score: 100, rank: 1 });
  dbQuery(srv.dbPath, `UPDATE tenders SET award_bid_id = ${win}, award_company_id = ${companyU.company},
    award_fen = 100000000, awarded_at = ${q(iso(NOW - 10 * DAY))}, contract_no = 'HT-${uid}-1',
    contract_fen = 100000000, contracted_at = ${q(iso(NOW - 5 * DAY))} WHERE id = ${T.contracted}`);
  // Failed (流标 after the opening, one bid).
  tender('failed', { status: 'failed', deadline_at: iso(NOW - 8 * DAY), failed_reason: '有效投标人不足3家，流标' });
  bid(T.failed, c3, bidder.user, 'opened', 99000000);
  // Failed before any opening (no hall), with a sealed bid: still secret.
  tender('failedEarly', { status: 'failed', deadline_at: iso(NOW - 2 * DAY), failed_reason: '投标截止时无人投标' });
  bid(T.failedEarly, bidder.company, bidder.user, 'sealed');
  // The hall open but nothing revealed yet: no bids either.
  tender('opening', { status: 'opening', deadline_at: iso(NOW - 3600e3) });
  bid(T.opening, bidder.company, bidder.user, 'sealed');
  // Cancelled before the opening, with a sealed bid: still secret.
  tender('cancelled', { status: 'cancelled', cancelled_reason: '项目取消' });
  bid(T.cancelled, bidder.company, bidder.user, 'sealed');
  // A draft: never exported.
  tender('draft', { status: 'draft' });
  // Old: excluded by --since.
  tender('old', { status: 'cancelled', updated_at: '2024-06-01T00:00:00Z' });
  // An auction (land): 挂牌 offers by two companies, then 竞价.
  tender('auction', {
    kind: 'land', method: 'auction', budget_fen: null, reserve_fen: 500000000, deposit_fen: 1000000,
    method_params: '{"increment_fen":1000000}', deadline_at: iso(NOW + DAY),
  });
  for (const c of [bidder.company, companyU.company]) {
    insert('trade_deposits', { tender_id: T.auction, company_id: c, amount_fen: 1000000, account_no: `62${c}`, account_name: 'x', paid_at: iso(NOW - DAY) });
  }
});

after(async () => { await srv?.stop(); });

async function auctionBid(login, amount) {
  const s = await srv.login(login);
  const r = await srv.req('POST', `/api/v1/trade/tenders/${T.auction}/auction/bids`, { auth: s, json: { amount } });
  assert.equal(r.status, 201, r.text);
}

function exportCli(args = [], env = {}) {
  const out = path.join(srv.dir, `ocds-${Math.random().toString(36).slice(2)}.json`);
  const r = runIsle(['--db', srv.dbPath, 'export', 'ocds', '--out', out, ...args], { env });
  assert.equal(r.status, 0, r.stderr);
  return { pkg: JSON.parse(fs.readFileSync(out, 'utf8')), stderr: r.stderr };
}

const byNo = (pkg, key, prefix = 'ocds-isle0zs') => pkg.releases.find((x) => x.ocid === `${prefix}-${no(key)}`);

test('the validator really checks: a broken release is refused', () => {
  const pkg = exportCli().pkg;
  assertValid(pkg, 'the CLI package');
  const broken = structuredClone(pkg);
  const rel = broken.releases.find((x) => x.bids);
  rel.bids.details[0].status = 'accepted'; // not in the closed bidStatus codelist
  assert.equal(validatePackage(broken), false);
  const noOcid = structuredClone(pkg);
  delete noOcid.releases[0].ocid;
  assert.equal(validatePackage(noOcid), false);
  const badMoney = structuredClone(pkg);
  badMoney.releases.find((x) => x.tender.value).tender.value.currency = 'RMB';
  assert.equal(validatePackage(badMoney), false);
});

test('CLI: every tender in every state, valid, with secrecy before the opening', () => {
  const { pkg, stderr } = exportCli();
  assertValid(pkg, 'the CLI package');
  assert.match(stderr, /ocds: \d+ releases written/);
  assert.equal(pkg.version, '1.1');
  assert.ok(pkg.extensions.some((u) => u.includes('ocds_bid_extension')));
  assert.ok(pkg.extensions.some((u) => u.includes('ocds_lots_extension')), 'lots used → declared');
  for (const k of ['announced', 'amended', 'opened', 'contracted', 'failed', 'cancelled', 'auction']) {
    assert.ok(byNo(pkg, k), `release of ${k}`);
  }
  assert.equal(byNo(pkg, 'draft'), undefined, 'drafts are not published');
  const ocids = pkg.releases.map((x) => x.ocid);
  assert.equal(new Set(ocids).size, ocids.length, 'one release per tender');

  const ann = byNo(pkg, 'announced');
  assert.deepEqual(ann.tag, ['tender']);
  assert.equal(ann.tender.status, 'active');
  assert.equal(ann.bids, undefined, 'no bids object before the opening');
  assert.equal(ann.tender.numberOfTenderers, undefined);
  assert.ok(!JSON.stringify(ann).includes('东港建设'), 'no bidder named before the opening');
  assert.equal(ann.tender.value.amount, 1234567.89);
  assert.equal(ann.tender.value.currency, 'CNY');
  assert.equal(ann.tender.mainProcurementCategory, 'works');
  assert.equal(ann.tender.lots.length, 2);
  assert.equal(ann.tender.lots[1].value.amount, 634567.89);
  assert.equal(ann.initiationType, 'tender');
  assert.equal(ann.id, `${ann.ocid}-v1`);

  const am = byNo(pkg, 'amended');
  assert.deepEqual(am.tag, ['tenderAmendment']);
  assert.equal(am.tender.amendments.length, 1);
  assert.equal(am.tender.mainProcurementCategory, 'goods');
  assert.equal(am.tender.procuringEntity.name, '浙江舟山招标代理有限公司');
  assert.deepEqual(am.parties.find((p) => p.id === 'agency').roles, ['procuringEntity']);

  const op = byNo(pkg, 'opened');
  assert.deepEqual(op.tag, ['tenderUpdate']);
  assert.equal(op.tender.numberOfTenderers, 3);
  assert.equal(op.bids.details.length, 3, 'replaced bids are not listed');
  const stat = (rel, m) => rel.bids.statistics.find((s) => s.measure === m)?.value;
  assert.equal(stat(op, 'bids'), 3);
  assert.equal(stat(op, 'validBids'), 2);
  assert.equal(stat(op, 'lowestValidBidValue'), 1100000);
  assert.equal(stat(op, 'highestValidBidValue'), 1150000.5);
  assert.deepEqual(op.bids.details.map((b) => b.status).sort(), ['disqualified', 'valid', 'valid']);
  const ten = op.parties.filter((p) => p.roles.includes('tenderer'));
  assert.equal(ten.length, 3);
  assert.ok(ten.every((p) => p.identifier.scheme === 'CN-USCC' && p.id === `CN-USCC-${p.identifier.id}`));

  const ct = byNo(pkg, 'contracted');
  assert.deepEqual(ct.tag, ['award', 'contract']);
  assert.equal(ct.tender.status, 'complete');
  assert.equal(ct.awards[0].status, 'active');
  assert.equal(ct.awards[0].value.amount, 1000000);
  assert.equal(ct.awards[0].suppliers[0].name, '舟渔水产有限公司');
  assert.ok(ct.parties.find((p) => p.name === '舟渔水产有限公司').roles.includes('supplier'));
  assert.equal(ct.contracts[0].id, `HT-${uid}-1`);
  assert.equal(ct.contracts[0].awardID, ct.awards[0].id);
  assert.deepEqual(ct.awards[0].relatedBids, [ct.bids.details.find((b) => b.rank === 1).id]);

  const fl = byNo(pkg, 'failed');
  assert.equal(fl.tender.status, 'unsuccessful');
  assert.equal(fl.tender.statusDetails, '有效投标人不足3家，流标');
  assert.equal(fl.bids.details.length, 1);

  for (const k of ['failedEarly', 'opening']) {
    const x = byNo(pkg, k);
    assert.equal(x.bids, undefined, `${k}: no bids object before anything is revealed`);
    assert.equal(x.tender.numberOfTenderers, undefined);
    assert.ok(!JSON.stringify(x).includes('东港建设'), `${k}: no bidder named`);
  }
  assert.equal(byNo(pkg, 'opening').tender.status, 'active');

  const cn = byNo(pkg, 'cancelled');
  assert.deepEqual(cn.tag, ['tenderCancellation']);
  assert.equal(cn.tender.status, 'cancelled');
  assert.equal(cn.bids, undefined, 'a tender cancelled before the opening keeps its bids secret');

  const au = byNo(pkg, 'auction');
  assert.equal(au.tender.minValue.amount, 5000000);
  assert.equal(au.tender.value, undefined);
  assert.equal(au.tender.mainProcurementCategory, undefined);
  assert.match(au.tender.procurementMethodDetails, /网络竞价/);
});

test('CLI: --since, --prefix and ISLE_OCDS_PREFIX', () => {
  const all = exportCli().pkg;
  assert.ok(byNo(all, 'old'));
  const since = exportCli(['--since', '2025-01-01']).pkg;
  assertValid(since, 'the --since package');
  assert.equal(byNo(since, 'old'), undefined);
  assert.ok(byNo(since, 'announced'));
  const p = exportCli(['--prefix', 'ocds-zs1234']).pkg;
  assert.ok(byNo(p, 'announced', 'ocds-zs1234'));
  const env = exportCli([], { ISLE_OCDS_PREFIX: 'ocds-envpfx' }).pkg;
  assert.ok(byNo(env, 'announced', 'ocds-envpfx'));
  const bad = runIsle(['--db', srv.dbPath, 'export', 'ocds', '--prefix', 'a b']);
  assert.equal(bad.status, 2);
  const badSince = runIsle(['--db', srv.dbPath, 'export', 'ocds', '--since', 'yesterday']);
  assert.equal(badSince.status, 2);
  const none = runIsle(['--db', srv.dbPath, 'export', 'ocds', '--since', '2099-01-01']);
  assert.equal(none.status, 0);
  assert.deepEqual(JSON.parse(none.stdout).releases, []);
  assert.match(none.stderr, /warning/);
});

test('API: pages, validity and the auction through its phases', async () => {
  let r = await srv.req('GET', '/api/v1/ocds/releases?limit=1000');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assertValid(r.json, 'the API package');
  const total = r.json.releases.length;
  r = await srv.req('GET', '/api/v1/ocds/releases?limit=2');
  assert.equal(r.json.releases.length, 2);
  assert.match(r.headers.get('link'), /offset=2/);
  assertValid(r.json, 'page 1');
  r = await srv.req('GET', `/api/v1/ocds/releases?tender=${T.opened}&prefix=ocds-abc123`);
  assert.equal(r.json.releases.length, 1);
  assert.equal(r.json.releases[0].ocid, `ocds-abc123-${no('opened')}`);
  assert.equal(r.headers.get('link'), null);
  r = await srv.req('GET', '/api/v1/ocds/releases?limit=0'); // clamped to 1
  assert.equal(r.json.releases.length, 1);
  r = await srv.req('GET', '/api/v1/ocds/releases?limit=x');
  assert.equal(r.status, 400);
  r = await srv.req('GET', '/api/v1/ocds/releases?since=nope');
  assert.equal(r.status, 400);
  assert.equal(r.json.error.field, 'since');
  r = await srv.req('GET', '/api/v1/ocds/releases?prefix=%3Cx%3E');
  assert.equal(r.status, 400);
  assert.ok(total >= 8);

  // The auction: 挂牌 offers are not in the release until 挂牌 ends.
  await auctionBid('bidder', '5000000');
  await auctionBid('company', '5010000');
  const rel = async () => {
    const x = await srv.req('GET', `/api/v1/ocds/releases?tender=${T.auction}`);
    assertValid(x.json, 'the auction release');
    return x.json.releases[0];
  };
  let a = await rel();
  assert.equal(a.bids, undefined, 'no bids during 挂牌');
  // 挂牌 ends: 竞价 with anonymous 竞买号, no names.
  dbQuery(srv.dbPath, `UPDATE tenders SET deadline_at = ${q(iso(Date.now() - 1000))} WHERE id = ${T.auction}`);
  r = await srv.req('GET', `/api/v1/trade/tenders/${T.auction}/auction`);
  assert.equal(r.json.status, 'auction');
  await auctionBid('bidder', '5020000');
  a = await rel();
  assert.deepEqual(a.tag, ['tenderUpdate']);
  assert.equal(a.bids.details.length, 3);
  assert.ok(a.bids.details.every((b) => !b.tenderers && b.identifiers[0].scheme === 'ISLE-BIDDER-NO'));
  assert.ok(!JSON.stringify(a).includes('东港建设'), 'no names during 竞价');
  assert.equal(a.bids.statistics.find((s) => s.measure === 'highestValidBidValue').value, 5020000);
  assert.equal(a.tender.numberOfTenderers, 2);
  // The end: awarded, names and the award appear.
  dbQuery(srv.dbPath, `UPDATE tenders SET auction_ends_at = ${q(iso(Date.now() - 1000))} WHERE id = ${T.auction}`);
  const staff = await srv.login('trading_staff');
  r = await srv.req('POST', `/api/v1/trade/tenders/${T.auction}/auction/close`, { auth: staff, json: {} });
  assert.equal(r.status, 200, r.text);
  a = await rel();
  assert.deepEqual(a.tag, ['award']);
  assert.equal(a.tender.status, 'complete');
  assert.equal(a.awards[0].value.amount, 5020000);
  assert.equal(a.awards[0].suppliers[0].id, a.bids.details.at(-1).tenderers[0].id);
  assert.ok(a.bids.details.every((b) => b.tenderers?.length === 1));
});
