// Browser tests of 数智分析 (web/js/pages/dash-*.js, open-trading.js) against the real
// isle server with the demo year: the supervisor opens the city overview (KPI tiles
// with targets, four charts), downloads a chart as PNG, sees the page refresh itself
// when a case is created (SSE topic "dash"), switches to 大屏, drills from the city to
// one case (city → county → town → item → the case page), exports the town's table
// to Excel and checks the workbook opens (a zip with the sheet and the headers); 无感
// 监测 and the trading view; the public 交易成果展示 without a login; citizens kept
// out; phone width and 长者模式. Screenshots: tests/web/out/dash-*.png
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
const PASSWORD = 'Zhoushan@2026';
const PHONE = { width: 375, height: 812 };

let srv;
let browser;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const open = (t, opts) => openPage(browser, t, opts);
const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** No inline style attributes in our markup (ECharts' own elements inside a chart box are exempt). */
async function assertNoInlineStyles(page) {
  const bad = await page
    .locator('[style]:not([style=""])')
    .evaluateAll((els) => els.filter((e) => !e.closest('.dash-chart')).map((e) => e.outerHTML.slice(0, 200)));
  assert.deepEqual(bad, [], 'no inline style attributes');
}

async function shot(page, name) {
  await assertNoInlineStyles(page);
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

const login = (page, who) => loginAs(page, srv.url, who);

/** A chart has drawn once its box holds a canvas. */
async function chartDrawn(page, id) {
  await page.locator(`#${id} canvas`).first().waitFor({ state: 'attached' });
  await page.locator(`#${id}-png:not([disabled])`).waitFor();
}

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
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + csize);
    out.set(name, (method === 8 ? zlib.inflateRawSync(data) : data).toString('utf8'));
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return out;
}

/** A citizen's new draft case (its timeline row moves the dashboard tick). */
async function newCase() {
  const login = await fetch(`${srv.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: 'citizen', password: PASSWORD, token: true }),
  });
  const { token } = await login.json();
  const r = await fetch(`${srv.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      item_code: '330900-GA-100001',
      form: { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234', baby_name: '张小舟', baby_sex: '女', birth_date: '2026-11-20', birth_place: '舟山医院', follow: '随母' },
      submit: false,
    }),
  });
  assert.equal(r.status, 201, await r.text());
}

test('overview: KPI tiles with targets, charts, PNG download, live refresh, 大屏', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'supervisor');
  await page.goto(`${srv.url}/dash`);
  await page.locator('h1', { hasText: '数智分析' }).waitFor();
  const online = page.locator('#dash-kpis .dash-kpi[data-key="online_rate"]');
  await online.waitFor();
  assert.match(await online.textContent(), /一网通办率\s*[\d.]+%\s*目标 ≥ 90%(达标|未达标)/);
  assert.match(await page.locator('#dash-kpis [data-key="avg_working_days"]').textContent(), /法定平均 [\d.]+ 工作日/);
  for (const key of ['material_waiver_rate', 'instant_rate', 'zero_visit_rate', 'rating_avg', 'overdue_count']) {
    assert.equal(await page.locator(`#dash-kpis [data-key="${key}"]`).count(), 1, key);
  }
  assert.match(await page.locator('#dash-more [data-key="circle"]').textContent(), /10分钟服务圈\s*[\d.]+%/);
  assert.match(await page.locator('#dash-more [data-key="catalog"]').textContent(), /跨省通办 \d+ · 全省通办 \d+ · 甬舟通办 \d+/);
  assert.match(await page.locator('#dash-trade-kpis [data-key="trade.amount"]').textContent(), /交易金额\s*[\d.]+ 亿元/);
  for (const key of ['trade.projects', 'trade.savings_rate', 'trade.remote_rate', 'trade.e_rate', 'trade.ca_rate']) {
    assert.equal(await page.locator(`#dash-trade-kpis [data-key="${key}"]`).count(), 1, key);
  }
  assert.match(await page.locator('#dash-sentence').textContent(), /累计进场交易项目\d+项/);
  assert.equal(await page.locator('#dash-alerts-link').getAttribute('href'), '/dash/alerts');
  for (const id of ['dash-trend', 'dash-channels', 'dash-towns', 'dash-trading']) await chartDrawn(page, id);
  await page.locator('#dash-stamp', { hasText: /已更新 \d\d:\d\d:\d\d/ }).waitFor();
  await shot(page, 'dash-overview.png');

  // 下载 PNG: a real PNG image of the chart.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#dash-trend-png').click()]);
  assert.equal(dl.suggestedFilename(), 'isle-trend.png');
  const png = readFileSync(await dl.path());
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.ok(png.length > 5000, `a drawn chart, not an empty image (${png.length} bytes)`);

  // Live: a new case anywhere → the page refreshes itself (a new stamp) within seconds.
  const before1 = await page.locator('#dash-stamp').textContent();
  await page.waitForTimeout(1100); // the stamp has one-second resolution
  await newCase();
  await page.waitForFunction((old) => document.getElementById('dash-stamp').textContent !== old, before1, { timeout: 8000 });

  // The map: clicking a town opens its drill-down.
  const code = await page.evaluate(() => {
    const c = window.echarts.getInstanceByDom(document.getElementById('dash-towns'));
    return c.getOption().series[0].data.reduce((a, d) => (d.value[2] > a.value[2] ? d : a)).code;
  });
  await page.locator('#dash-towns').scrollIntoViewIfNeeded();
  const pt2 = await page.evaluate((townCode) => {
    const el = document.getElementById('dash-towns');
    const c = window.echarts.getInstanceByDom(el);
    const d = c.getOption().series[0].data.find((x) => x.code === townCode);
    const [x, y] = c.convertToPixel({ seriesIndex: 0 }, d.value.slice(0, 2));
    const r = el.getBoundingClientRect();
    return { x: r.left + x, y: r.top + y };
  }, code);
  await page.mouse.click(pt2.x, pt2.y);
  await page.waitForURL(new RegExp(`/dash/services\\?level=town&town=${code}$`));
  await page.locator('h1', { hasText: '各事项' }).waitFor();
  await page.goBack();
  await chartDrawn(page, 'dash-towns');

  // 大屏: the dark wall layout, and back.
  await page.locator('#dash-big').click();
  await page.locator('#dash-root.dash-big').waitFor();
  assert.equal(await page.locator('#dash-big').getAttribute('aria-pressed'), 'true');
  await chartDrawn(page, 'dash-towns');
  await page.waitForTimeout(300);
  await shot(page, 'dash-bigscreen.png');
  await page.locator('#dash-big').click();
  await page.waitForFunction(() => !document.getElementById('dash-root').classList.contains('dash-big'));
  await assertClean();
});

test('drill from the city to one case; export the town to Excel', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'supervisor');
  await page.goto(`${srv.url}/dash`);
  await page.locator('#dash-drill-link').click();
  await page.waitForURL(/\/dash\/services$/);
  await page.locator('#dash-table tbody tr').first().waitFor();
  assert.equal(await page.locator('h1').textContent(), '舟山市 · 各县区');
  await chartDrawn(page, 'dash-rates');
  await shot(page, 'dash-city.png');

  // city → county (the busiest row first, so that every level below has cases)
  await page.locator('#dash-table tbody tr').first().locator('a').click();
  await page.waitForURL(/level=county/);
  await page.locator('#dash-crumbs li', { hasText: '舟山市' }).waitFor();
  await page.locator('h1', { hasText: '各乡镇' }).waitFor();
  const county = (await page.locator('h1').textContent()).split(' · ')[0];

  // county → town (click the row itself, not the link)
  await page.locator('#dash-table tbody tr').first().locator('td').nth(1).click();
  await page.waitForURL(/level=town/);
  await page.locator('h1', { hasText: '各事项' }).waitFor();
  const crumbs = await page.locator('#dash-crumbs li').allTextContents();
  assert.deepEqual(crumbs.slice(0, 2), ['舟山市', county]);
  assert.equal(crumbs.length, 3);
  await chartDrawn(page, 'dash-rates');
  await shot(page, 'dash-town.png');

  // Export the town's table to Excel: the file opens (a zip with the sheet and the headers).
  const [xl] = await Promise.all([page.waitForEvent('download'), page.locator('#dash-xlsx').click()]);
  assert.match(xl.suggestedFilename(), /^isle-town-\d{9}-[\d-]+_[\d-]+\.xlsx$/);
  const zip = unzip(readFileSync(await xl.path()));
  assert.ok(zip.has('xl/workbook.xml'), 'a workbook');
  const sheet = zip.get('xl/worksheets/sheet1.xml');
  assert.ok(sheet, 'the sheet');
  const rows = await page.locator('#dash-table tbody tr').count();
  assert.equal((sheet.match(/<row /g) || []).length, 2 + rows, 'the title, the header and one row per table row');
  assert.match(sheet, new RegExp(`<row r="${3 + rows}"`), 'the rows under the header (row 3)');
  const strings = zip.get('xl/sharedStrings.xml') || sheet;
  for (const label of ['事项', '办件量', '一网通办率']) assert.ok(strings.includes(label), label);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('#dash-csv').click()]);
  assert.match(csv.suggestedFilename(), /\.csv$/);
  assert.match(readFileSync(await csv.path()).toString('utf8'), /^\uFEFF事项,办件量/);

  // town → item → the cases
  await page.locator('#dash-table tbody tr').first().locator('a').click();
  await page.waitForURL(/level=item/);
  await page.locator('h1', { hasText: / · 办件$/ }).waitFor(); // not the placeholder 办件明细
  assert.equal(await page.locator('#dash-crumbs li').count(), 4);
  assert.ok(await page.locator('#dash-rates').isHidden(), 'no rate chart over single cases');
  const caseLink = page.locator('#dash-table tbody tr').first().locator('a');
  const caseNo = (await caseLink.textContent()).trim();
  assert.match(caseNo, /^ZS\d+$/);
  assert.match(await caseLink.getAttribute('href'), /^\/cases\/\d+$/);
  await shot(page, 'dash-item.png');
  await caseLink.click();
  await page.waitForURL(/\/cases\/\d+$/);
  await page.locator('main', { hasText: caseNo }).waitFor();
  await shot(page, 'dash-case.png');

  // The window picker narrows the table and keeps the level.
  await page.goto(`${srv.url}/dash/services?level=city`);
  await page.locator('#dash-from').fill('2026-01-01');
  await page.locator('#dash-to').fill('2026-01-31');
  await page.locator('#dash-window button[type=submit]').click();
  await page.waitForURL(/from=2026-01-01&to=2026-01-31/);
  await page.locator('#dash-services-window', { hasText: '2026-01-01 至 2026-01-31' }).waitFor();
  await assertClean();
});

test('无感监测 and the trading view', async (t) => {
  const { page, assertClean } = await open(t);
  await login(page, 'supervisor');
  await page.goto(`${srv.url}/dash/alerts?status=all`);
  await page.locator('h1', { hasText: '无感监测' }).waitFor();
  await page.locator('#dash-alerts h2').waitFor();
  assert.equal(await page.locator('.tab[aria-current="page"]').textContent(), '全部');
  await chartDrawn(page, 'dash-history');
  await shot(page, 'dash-alerts.png');

  await page.goto(`${srv.url}/dash/trading`);
  await page.locator('#dash-kinds-table tbody tr').first().waitFor();
  await chartDrawn(page, 'dash-by-kind');
  await chartDrawn(page, 'dash-by-month');
  assert.match(await page.locator('#dash-trade-kpis [data-key="trade.amount"]').textContent(), /[\d.]+ 亿元/);
  await shot(page, 'dash-trading.png');
  await page.locator('#dash-kinds-table tbody tr[data-kind="works"] a').click();
  await page.waitForURL(/kind=works/);
  const first = page.locator('#dash-tenders-table tbody tr').first();
  await first.waitFor();
  await page.locator('#dash-status').selectOption('contracted');
  await page.waitForURL(/status=contracted/);
  // The list re-renders for the new filter: only contracted tenders remain.
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('#dash-tenders-table tbody tr td:nth-child(3)')].map((c) => c.textContent);
    return cells.length > 0 && cells.every((c) => c === '已签合同');
  });
  assert.equal(await page.locator('#dash-status').inputValue(), 'contracted');
  const link = page.locator('#dash-tenders-table tbody tr').first().locator('a');
  const no = await link.textContent();
  await link.click();
  await page.waitForURL(/\/trade\/tenders\/\d+$/);
  await page.locator('main', { hasText: no }).waitFor();
  await assertClean();
});

test('交易成果展示 is public; citizens are kept out of the dashboards', async (t) => {
  const { page, assertClean } = await open(t);
  await page.goto(`${srv.url}/open/trading`);
  await page.locator('h1', { hasText: '交易成果展示' }).waitFor();
  await page.locator('#open-kpis [data-key="trade.amount"]').waitFor();
  await page.locator('#open-results-list li').first().waitFor();
  await chartDrawn(page, 'open-by-kind');
  const text = await page.locator('main').textContent();
  assert.doesNotMatch(text, /(?<!\d)1[3-9]\d{9}(?!\d)/, 'no phone numbers');
  assert.doesNotMatch(text, /(?<![0-9A-Z])\d{17}[\dX](?![0-9A-Z])/, 'no ID numbers');
  await shot(page, 'dash-open-trading.png');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#open-by-kind-png').click()]);
  assert.match(dl.suggestedFilename(), /\.png$/);
  assert.equal(page.url(), `${srv.url}/open/trading`, 'no login needed');

  await page.goto(`${srv.url}/dash`);
  await page.waitForURL(/\/login\?next=%2Fdash/);
  await login(page, 'citizen');
  await page.goto(`${srv.url}/dash`);
  await page.locator('h1', { hasText: '无权访问' }).waitFor();
  await assertClean();
});

test('phone width and 长者模式', async (t) => {
  const { page, assertClean } = await open(t, { viewport: PHONE, elder: true });
  await login(page, 'supervisor');
  const pages = [
    ['/dash', 'dash-towns', 'dash-phone-overview.png'],
    ['/dash/services?level=county&county=%E6%99%AE%E9%99%80%E5%8C%BA', 'dash-rates', 'dash-phone-services.png'],
    ['/dash/alerts', 'dash-history', 'dash-phone-alerts.png'],
    ['/dash/trading?kind=procurement', 'dash-by-month', 'dash-phone-trading.png'],
    ['/open/trading', 'open-by-month', 'dash-phone-open.png'],
  ];
  for (const [p, chart, name] of pages) {
    await page.goto(`${srv.url}${p}`);
    await chartDrawn(page, chart);
    assert.ok(await page.evaluate(() => document.documentElement.classList.contains('elder')));
    assert.ok((await overflowX(page)) <= 0, `${p}: no sideways scrolling at 375 px`);
    // The PNG button stays a comfortable target.
    const box = await page.locator(`#${chart}-png`).boundingBox();
    assert.ok(box.height >= 36, `${p}: button height ${box.height}`);
    await shot(page, name);
  }
  await assertClean();
});
