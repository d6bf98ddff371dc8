// Browser tests of 在线评标 (trade-expert.js, trade-evaluate.js) against the real isle
// server: a tender in status evaluation with three opened bids is seeded with SQL, the
// pool is narrowed to three experts (the demo `expert` and two more) and trading
// staff draw all three through the API. The demo expert finds the task on
// /trade/expert, scores 投标人A/B/C on the phone (no company name on the page), is
// stopped by an out-of-range score at its field, confirms and submits; the other two
// score through the API. Staff see the sealed count, compute, see the ranking and
// publicise the candidates; 长者模式 on both pages.
// Screenshots: tests/web/out/evaluate-*.png
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PASSWORD = 'Zhoushan@2026';
const PHONE = { width: 375, height: 812 };
const COMPANIES = ['舟山海天建设有限公司', '宁波甬江路桥有限公司', '浙江定海市政工程有限公司'];

let srv;
let browser;
let tenderId = 0;
let staffToken = '';
const others = []; // tokens of the two other experts

const sql = (s) => {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', srv.db, s], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
  return r.stdout.trim();
};

async function api(method, p, token, json) {
  const res = await fetch(srv.url + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(json ? { 'Content-Type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function token(login) {
  const res = await fetch(`${srv.url}/api/v1/session`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ login, password: PASSWORD, token: true }),
  });
  const j = await res.json();
  assert.ok(j.token, `token for ${login}`);
  return j.token;
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  srv = await startServer();
  browser = await launchBrowser();
  staffToken = await token('trading_staff');
  const admin = await token('admin');
  sql(`INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, not_after, added_at)
       VALUES ('评标页面测试CA', 'CN=ev-web', 'ev-web-root', 'rsa', 'x', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
  sql(`INSERT INTO tenders (tender_no, kind, title, buyer, budget_fen, method, method_params, status,
        deadline_at, created_at, updated_at)
       VALUES ('ZS-GC-2026-8801', 'works', '沈家门渔港码头提升改造工程', '舟山市普陀区港航管理中心', 500000000,
        'composite', '{"price_weight":30,"tech_weight":70}', 'evaluation', '2026-10-01T02:00:00Z',
        '2026-09-01T00:00:00Z', '2026-09-01T00:00:00Z')`);
  tenderId = Number(sql("SELECT id FROM tenders WHERE tender_no = 'ZS-GC-2026-8801'"));
  const prices = [4650000, 4480000, 4720000];
  for (let i = 0; i < 3; i++) {
    const login = `evweb_bidder${i}`;
    await api('POST', '/api/v1/users', admin, { login, password: PASSWORD, role: 'bidder', display_name: COMPANIES[i] });
    const uid = Number(sql(`SELECT id FROM users WHERE login = '${login}'`));
    sql(`INSERT INTO trade_companies (uscc, name, created_at, updated_at)
         VALUES ('9133090${i}EVWEB0000${i}', '${COMPANIES[i]}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
    const cid = Number(sql(`SELECT id FROM trade_companies WHERE name = '${COMPANIES[i]}'`));
    sql(`INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, subject, issuer, key_type, pubkey_sha256,
          ca_root_id, pem, not_before, not_after, registered_at)
         VALUES (${uid}, ${cid}, 'ev-web-${i}', '01', 'CN=x', 'CN=ev-web', 'rsa', 'k',
          (SELECT id FROM ca_roots WHERE fingerprint = 'ev-web-root'), 'x', '2026-01-01T00:00:00Z', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
    const at = `2026-09-30T0${i + 1}:00:00Z`;
    sql(`INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, envelope_kind, envelope_sha256,
          envelope_size, commitment_sha256, commitment_sig, receipt, receipt_sig, submitted_at, price_fen,
          duration_days, quality, created_at, updated_at)
         VALUES (${tenderId}, ${cid}, ${uid}, (SELECT id FROM trade_certs WHERE fingerprint = 'ev-web-${i}'), 1, 'opened',
          'cms', 'x', 0, 'x', 'x', '{}', '', '${at}', ${prices[i] * 100}, ${300 + i * 30}, '合格', '${at}', '${at}')`);
  }
  // Only our three experts are active: the draw of three takes all of them.
  sql('UPDATE experts SET active = 0');
  const linked = sql("SELECT id FROM experts WHERE user_id = (SELECT id FROM users WHERE login = 'expert')");
  if (linked) sql(`UPDATE experts SET active = 1, specialties = '["works"]', employer = '浙江海洋大学', employer_uscc = NULL WHERE id = ${linked}`);
  else await api('POST', '/api/v1/trade/experts', staffToken, { name: '吴专家', specialties: ['works'], employer: '浙江海洋大学', user_login: 'expert' });
  for (let i = 0; i < 2; i++) {
    const login = `evweb_expert${i}`;
    await api('POST', '/api/v1/users', admin, { login, password: PASSWORD, role: 'expert', display_name: `页面专家${i}` });
    await api('POST', '/api/v1/trade/experts', staffToken, { name: `页面专家${i}`, specialties: ['works'], employer: '舟山市建筑设计研究院', user_login: login });
    others.push(await token(login));
  }
  await api('POST', `/api/v1/trade/tenders/${tenderId}/experts/draw`, staffToken, { n: 3 });
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

async function shot(page, name) {
  const bad = await page.locator('[style]:not([style=""])').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
  assert.deepEqual(bad, [], 'no inline style attributes');
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

const login = (page, who) => loginAs(page, srv.url, who);

test('the expert scores anonymised bids on a phone and submits', async (t) => {
  const { page, assertClean } = await openPage(browser, t, { viewport: PHONE });
  await login(page, 'expert');
  await page.goto(`${srv.url}/trade/expert`);
  const task = page.locator(`#ev-tasks li[data-id="${tenderId}"]`);
  await task.waitFor();
  assert.match(await task.textContent(), /待评分/);
  await task.locator('a').click();
  await page.waitForURL(`**/trade/tenders/${tenderId}/evaluate`);
  await page.locator('#score-form').waitFor();
  const titles = await page.locator('.ev-bid-title').allTextContents();
  assert.deepEqual(titles, ['投标人A', '投标人B', '投标人C']);
  const body = await page.locator('main').textContent();
  for (const c of COMPANIES) assert.ok(!body.includes(c), `the page shows ${c}`);
  assert.match(body, /¥4,480,000\.00/);
  // An out-of-range score is refused by the API and named.
  await page.locator('#bid-A-score').fill('75');
  await page.locator('#bid-B-score').fill('62');
  await page.locator('#bid-C-score').fill('58.5');
  await page.locator('#bid-A-comment').fill('施工组织设计完整，工期安排合理');
  await page.locator('#score-save').click();
  await page.locator('.ev-alert .notice-error').waitFor();
  assert.match(await page.locator('.ev-alert').textContent(), /投标人A 的技术分须在 0–70 之间/);
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'bid-A-score');
  await page.locator('#bid-A-score').fill('65');
  await page.locator('#score-save').click();
  await page.locator('.ev-alert .notice-ok').waitFor();
  assert.ok((await overflowX(page)) <= 0, 'no sideways scrolling at 375px');
  await shot(page, 'evaluate-expert-phone.png');
  await page.locator('#score-submit').click();
  await page.locator('#score-confirm-yes').click();
  await page.getByText('您已提交评分。').waitFor();
  assert.equal(await page.locator('#score-submit').count(), 0);
  assert.ok(await page.locator('#bid-A-score').isDisabled());
  assert.equal(await page.locator('#bid-A-score').inputValue(), '65');
  await assertClean();
});

test('长者模式: the expert page at phone width', async (t) => {
  const { page, assertClean } = await openPage(browser, t, { viewport: PHONE, elder: true });
  await login(page, 'expert');
  await page.goto(`${srv.url}/trade/tenders/${tenderId}/evaluate`);
  await page.locator('#score-form').waitFor();
  const px = await page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  assert.ok(px >= 22, `elder root font ${px}px`);
  assert.ok((await overflowX(page)) <= 0, 'no sideways scrolling in 长者模式');
  await shot(page, 'evaluate-expert-elder.png');
  await page.goto(`${srv.url}/trade/expert`);
  await page.locator('#ev-tasks').waitFor();
  assert.ok((await overflowX(page)) <= 0);
  await shot(page, 'evaluate-tasks-elder.png');
  await assertClean();
});

test('staff see the sealed panel, compute and publicise', async (t) => {
  // The other two experts score through the API.
  for (const [k, tok] of others.entries()) {
    await api('PUT', `/api/v1/trade/tenders/${tenderId}/scores`, tok, {
      scores: [{ bid_ref: 'A', tech_score: 64 + k }, { bid_ref: 'B', tech_score: 60 }, { bid_ref: 'C', tech_score: 59 }],
    });
    await api('POST', `/api/v1/trade/tenders/${tenderId}/scores/submit`, tok);
  }
  const { page, assertClean } = await openPage(browser, t, { viewport: PHONE });
  await login(page, 'trading_staff');
  await page.goto(`${srv.url}/trade/expert`);
  const task = page.locator(`#ev-tasks li[data-id="${tenderId}"]`);
  await task.waitFor();
  assert.match(await task.textContent(), /专家 3\/3 已提交/);
  await task.locator('a').click();
  await page.waitForURL(`**/trade/tenders/${tenderId}/evaluate`);
  await page.locator('#panel-count').waitFor();
  assert.match(await page.locator('#panel-count').textContent(), /已抽取 3 名（名单保密）.*已提交评分 3 \/ 3/);
  assert.ok(!(await page.locator('main').textContent()).includes('吴专家'), 'names stay sealed');
  assert.match(await page.locator('#bids-table').textContent(), /宁波甬江路桥有限公司/);
  await page.locator('#compute-btn').click();
  await page.locator('#ev-results').waitFor();
  // A: 4480000/4650000 × 30 = 28.90 + (65+64+65)/3 = 64.67 → 93.57; B: 30 + (62+60+60)/3 → 90.67;
  // C: 4480000/4720000 × 30 = 28.47 + (58.5+59+59)/3 = 58.83 → 87.30.
  const first = page.locator('#ev-results tbody tr').first();
  assert.match(await first.textContent(), /^1舟山海天建设有限公司（A）¥4,650,000\.00/);
  assert.match(await first.textContent(), /93\.57/);
  await page.locator('#panel-names').waitFor();
  assert.match(await page.locator('#panel-names').textContent(), /吴专家/);
  assert.equal(await page.locator('#report-link').getAttribute('href'), `/api/v1/trade/tenders/${tenderId}/evaluation/report.pdf`);
  assert.ok((await overflowX(page)) <= 0, 'tables scroll inside their box');
  await shot(page, 'evaluate-staff-phone.png');
  await page.locator('#publicize-btn').click();
  await page.locator('#publicity').waitFor();
  assert.match(await page.locator('h1').textContent(), /中标候选人公示/);
  assert.match(await page.locator('#publicity').textContent(), /公示期 3 日/);
  await page.locator('#award-btn').click();
  await page.locator('.ev-alert .notice-error').waitFor();
  assert.match(await page.locator('.ev-alert').textContent(), /不能提前定标/);
  await page.locator('#elder-toggle').click();
  assert.ok((await overflowX(page)) <= 0);
  await shot(page, 'evaluate-staff-elder.png');
  await assertClean();
});
