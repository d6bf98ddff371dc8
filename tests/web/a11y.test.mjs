// Accessibility check of the main pages with axe-core (WCAG 2.1 A/AA rules), against
// the real server with demo data: every page at desktop (1280) and phone (375) width,
// in the normal look and in 长者模式 (elder mode must keep colour contrast, too).
// Public pages first, then each role's daily pages after one login per role.
// Fails on any violation of impact "serious" or "critical", on AAA contrast in 长者模式,
// on a few structural best-practice rules and on a chart (canvas) without a text
// alternative; prints, for each, the rule id, its help text and the first targets.
// A summary of every violation (all impacts) goes to tests/web/out/a11y.json.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchBrowser, openPage, startServer, loginAs } from './server.mjs';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out');
// The page's CSP (script-src 'self') refuses an injected <script>; evaluating the
// source through the devtools protocol is not subject to it and leaves the CSP check on.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const BLOCKING = new Set(['serious', 'critical']);
// 长者模式 promises high contrast: there, text must meet the AAA ratio (7:1, 4.5:1 large).
const ELDER_ENFORCED = new Set(['color-contrast-enhanced']);
// Best-practice rules are measured (out/a11y.json) too; these ones also fail the test:
// one <main>, one <h1>, unique landmarks, no skipped heading levels, content in landmarks.
const BP_ENFORCED = new Set(['landmark-one-main', 'page-has-heading-one', 'landmark-unique', 'landmark-no-duplicate-main', 'heading-order', 'region']);

// Width × mode combinations every page is checked in.
const COMBOS = [
  { name: 'desktop', width: 1280, height: 900, elder: false },
  { name: 'phone', width: 375, height: 812, elder: false },
  { name: 'desktop-elder', width: 1280, height: 900, elder: true },
  { name: 'phone-elder', width: 375, height: 812, elder: true },
];

const PUBLIC = [
  '/',
  '/search?q=老人证',
  '/items/330900-MZ-300010',
  '/assistant',
  '/login',
  '/coverage',
  '/verify',
  '/trade/results',
  '/open/trading',
];
const BY_ROLE = [
  ['citizen', ['/me/cases', '/assist/new']],
  ['staff', ['/work/queue', '/work/dispatch']],
  ['agent', ['/agent']],
  ['supervisor', ['/screen', '/dash']],
  ['trading_staff', ['/trade/manage']],
  ['expert', ['/trade/expert']],
];

let srv;
let browser;
const summary = {}; // "page combo" → { ruleId: count of nodes } (all impacts)

before(async () => {
  mkdirSync(OUT, { recursive: true });
  srv = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  writeFileSync(path.join(OUT, 'a11y.json'), `${JSON.stringify(summary, null, 1)}\n`);
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

/** Load `route` and wait until the page has rendered its data. */
async function show(page, route) {
  await page.goto(`${srv.url}${route}`);
  await page.locator('html.ready').waitFor({ state: 'attached' });
  await page.locator('#main:not([aria-busy])').waitFor({ state: 'attached' });
  await page.waitForLoadState('networkidle');
}

/** Switch width and mode the way a user does (resize, the 长者模式 button), no reload. */
async function setCombo(page, combo) {
  await page.setViewportSize({ width: combo.width, height: combo.height });
  const elder = () => page.evaluate(() => document.documentElement.classList.contains('elder'));
  if ((await elder()) !== combo.elder) await page.locator('#elder-toggle').click();
  assert.equal(await elder(), combo.elder);
  // Let charts and layout follow the resize before measuring.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForTimeout(150);
}

/** Runs axe on the current page; returns the blocking violations as readable lines. */
async function check(page, route, combo) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const res = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    [...TAGS, 'best-practice', ...(combo.elder ? ['wcag2aaa'] : [])],
  );
  const key = `${route} ${combo.name}`;
  summary[key] = Object.fromEntries(res.violations.map((v) => [`${v.id}:${v.impact}`, v.nodes.length]));
  // Text axe could not judge (over images, gradients): counted, to be looked at by eye.
  const unsure = res.incomplete.find((v) => v.id === 'color-contrast');
  if (unsure) summary[key]['color-contrast:incomplete'] = unsure.nodes.length;
  // axe does not look into canvases: every chart must be an image with a name and a
  // text description of its figures (a visually-hidden summary or the hint/table).
  const charts = await page.evaluate(() =>
    [...document.querySelectorAll('#main canvas')].map((c) => {
      const box = c.closest('[role="img"]');
      const name = box ? (box.getAttribute('aria-label') || '').trim() : '';
      const desc = box
        ? (box.getAttribute('aria-describedby') || '')
            .split(/\s+/)
            .map((id) => (document.getElementById(id) || {}).textContent || '')
            .join('')
            .trim()
        : '';
      return { id: box ? box.id : c.parentElement.id, ok: Boolean(box && name && desc) };
    }),
  );
  summary[key].charts = charts.length;
  const badCharts = charts.filter((c) => !c.ok).map((c) => `${key}: chart #${c.id} has no role="img" with aria-label and aria-describedby text`);
  const blocking = res.violations.filter((v) => BP_ENFORCED.has(v.id) || (combo.elder && ELDER_ENFORCED.has(v.id)) || (BLOCKING.has(v.impact) && v.tags.some((x) => TAGS.includes(x))));
  return badCharts.concat(
    blocking.map(
      (v) =>
        `${key}: ${v.id} (${v.impact}, ${v.nodes.length}×) ${v.help}\n      ` +
        v.nodes
          .slice(0, 3)
          .map((n) => `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.split('\n').slice(1, 2).join('').trim()}` : ''}`)
          .join('\n      '),
    ),
  );
}

async function checkAll(t, routes, who) {
  const { page, assertClean } = await openPage(browser, t);
  if (who) await loginAs(page, srv.url, who);
  else await page.goto(srv.url);
  const bad = [];
  for (const route of routes) {
    await show(page, route);
    for (const combo of COMBOS) {
      await setCombo(page, combo);
      bad.push(...(await check(page, route, combo)));
    }
  }
  assert.deepEqual(bad, [], `serious/critical accessibility violations:\n  ${bad.join('\n  ')}`);
  await assertClean();
}

test('public pages have no serious accessibility violations (normal and 长者模式, 1280 and 375 px)', async (t) => {
  await checkAll(t, PUBLIC, null);
});

for (const [who, routes] of BY_ROLE) {
  test(`${who}: ${routes.join(', ')} have no serious accessibility violations`, async (t) => {
    await checkAll(t, routes, who);
  });
}
