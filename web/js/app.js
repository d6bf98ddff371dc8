/* app.js — the shell: History API router, header (navigation by role, login
 * state, 长者模式, phone menu) and page mounting. Pages live in pages/*.js and
 * export render(main, ctx). */
import { get } from './api.js';
import { h, notice, pageTitle, replace } from './dom.js';
import * as session from './session.js';

const SITE = '岛上办 · isle 舟山政务服务';
// Who may edit catalog items, and who sees 搜索管理 (synonyms, zero-result queries).
const ITEM_EDIT_ROLES = ['staff', 'approver', 'admin'];
const SEARCH_ADMIN_ROLES = ['staff', 'approver', 'admin', 'supervisor'];
// Who works the case queue (办件队列).
const QUEUE_ROLES = ['staff', 'approver', 'supervisor', 'admin'];
// Public resource trading: who manages tenders and hosts openings, who bids, who evaluates,
// who screens bids for collusion (防围串标), who dispatches assisted requests.
const TRADE_STAFF_ROLES = ['trading_staff', 'admin'];
const BIDDER_ROLES = ['bidder', 'company'];
const SCREEN_ROLES = ['supervisor', 'admin'];
const DISPATCH_ROLES = ['staff', 'supervisor', 'admin'];
const DASH_ROLES = ['staff', 'approver', 'trading_staff', 'supervisor', 'admin'];

/* ---------- routes ---------- */
// auth: must be logged in; roles: one of these roles; guest: only for anonymous users.
const ROUTES = {
  '/': { load: () => import('./pages/home.js') },
  '/login': { load: () => import('./pages/login.js'), guest: true },
  '/register': { load: () => import('./pages/register.js'), guest: true },
  '/me': { load: () => import('./pages/me.js'), auth: true },
  '/places': { load: () => import('./pages/places.js') },
  '/search': { load: () => import('./pages/search.js') },
  '/assistant': { load: () => import('./pages/assistant.js') },
  '/admin/users': { load: () => import('./pages/admin-users.js'), roles: ['admin'] },
  '/admin/audit': { load: () => import('./pages/admin-audit.js'), roles: ['admin', 'supervisor'] },
  '/admin/search': { load: () => import('./pages/admin-search.js'), roles: SEARCH_ADMIN_ROLES },
  '/me/cases': { load: () => import('./pages/my-cases.js'), auth: true },
  '/work/queue': { load: () => import('./pages/work-queue.js'), roles: QUEUE_ROLES },
  // 公共资源交易 (src/trade/): public lists, staff management, the bidder's desk, experts.
  '/trade': { load: () => import('./pages/trade-list.js') },
  '/trade/results': { load: () => import('./pages/trade-list.js') },
  '/trade/manage': { load: () => import('./pages/trade-manage.js'), roles: [...TRADE_STAFF_ROLES, 'supervisor'] },
  '/trade/company': { load: () => import('./pages/trade-company.js'), roles: BIDDER_ROLES },
  '/trade/expert': { load: () => import('./pages/trade-expert.js'), roles: ['expert', ...TRADE_STAFF_ROLES] },
  // 防围串标 (src/screen/)
  '/screen': { load: () => import('./pages/screen-alerts.js'), roles: SCREEN_ROLES },
  // 办事不出岛: the agent's phone inbox, the resident's 帮我办, the dispatch board.
  '/agent': { load: () => import('./pages/agent-inbox.js'), roles: ['agent'] },
  '/assist/new': { load: () => import('./pages/assist-new.js'), auth: true },
  '/me/assist': { load: () => import('./pages/my-assist.js'), auth: true },
  '/work/dispatch': { load: () => import('./pages/dispatch-board.js'), roles: DISPATCH_ROLES },
  '/work/agents': { load: () => import('./pages/agents-admin.js'), roles: DISPATCH_ROLES },
  '/coverage': { load: () => import('./pages/coverage.js') },
  // 数智分析 (src/dash/): the city overview, the services drill-down, 无感监测 alerts, the
  // trading view; 交易成果展示 for the public.
  '/dash': { load: () => import('./pages/dash-overview.js'), roles: DASH_ROLES },
  '/dash/services': { load: () => import('./pages/dash-services.js'), roles: DASH_ROLES },
  '/dash/alerts': { load: () => import('./pages/dash-alerts.js'), roles: DASH_ROLES },
  '/dash/trading': { load: () => import('./pages/dash-trading.js'), roles: DASH_ROLES },
  '/open/trading': { load: () => import('./pages/open-trading.js') },
  // 证明: residents ask, the village/town/district check and issue, anyone verifies.
  '/me/proofs': { load: () => import('./pages/proofs.js'), roles: ['citizen'] },
  '/work/proofs': { load: () => import('./pages/proofs.js'), roles: ['staff', 'approver', 'supervisor', 'admin'] },
  '/verify': { load: () => import('./pages/verify.js') },
};

// Routes with path parameters, tried in order when no exact route matches;
// the named groups become ctx.route ({code: '330900-MZ-300010'}).
const PATTERN_ROUTES = [
  { re: /^\/items\/(?<code>[^/]+)$/, load: () => import('./pages/item.js') },
  { re: /^\/items\/(?<code>[^/]+)\/edit$/, load: () => import('./pages/item-edit.js'), roles: ITEM_EDIT_ROLES },
  { re: /^\/apply\/bundle\/(?<bundle>[^/]+)$/, load: () => import('./pages/apply.js'), auth: true },
  { re: /^\/apply\/(?<code>[^/]+)$/, load: () => import('./pages/apply.js'), auth: true },
  { re: /^\/cases\/(?<id>[^/]+)$/, load: () => import('./pages/case.js'), auth: true },
  { re: /^\/trade\/tenders\/(?<id>[^/]+)$/, load: () => import('./pages/trade-tender.js') },
  { re: /^\/trade\/tenders\/(?<id>[^/]+)\/hall$/, load: () => import('./pages/trade-hall.js') },
  { re: /^\/trade\/tenders\/(?<id>[^/]+)\/evaluate$/, load: () => import('./pages/trade-evaluate.js'), roles: ['expert', ...TRADE_STAFF_ROLES] },
  { re: /^\/trade\/tenders\/(?<id>[^/]+)\/auction$/, load: () => import('./pages/trade-auction.js') },
  { re: /^\/screen\/alerts\/(?<id>[^/]+)$/, load: () => import('./pages/screen-alert.js'), roles: SCREEN_ROLES },
  { re: /^\/screen\/cases\/(?<id>[^/]+)$/, load: () => import('./pages/screen-case.js'), roles: SCREEN_ROLES },
  { re: /^\/assist\/(?<id>[^/]+)$/, load: () => import('./pages/assist-request.js'), auth: true },
];

function matchRoute(path) {
  if (ROUTES[path]) return { route: ROUTES[path], params: {} };
  for (const r of PATTERN_ROUTES) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    try {
      for (const [k, v] of Object.entries(m.groups || {})) params[k] = decodeURIComponent(v);
    } catch {
      return null; // malformed %-escape: not a page of ours
    }
    return { route: r, params };
  }
  return null;
}

/* ---------- navigation by role ---------- */

function navItems(u) {
  if (!u) {
    return [
      { href: '/', label: '首页' },
      { href: '/places', label: '服务网点' },
      { href: '/trade', label: '公共资源交易' },
      { href: '/verify', label: '证明核验' },
      { href: '/assistant', label: '智能客服' },
    ];
  }
  // Each role's daily work, at most seven entries so the bar stays on one line;
  // the rest is reached from /me and the home page's 工作台 links.
  const byRole = {
    citizen: [['/me/cases', '我的办件'], ['/me/assist', '帮我办'], ['/me/proofs', '我的证明'], ['/assistant', '智能客服']],
    company: [['/me/cases', '我的办件'], ['/trade/company', '我的投标'], ['/assistant', '智能客服']],
    agent: [['/agent', '我的任务']],
    staff: [['/work/queue', '办件队列'], ['/work/dispatch', '派单调度'], ['/work/proofs', '证明审核'], ['/dash', '数智分析'], ['/admin/search', '搜索管理']],
    approver: [['/work/queue', '办件队列'], ['/work/proofs', '证明审核'], ['/dash', '数智分析'], ['/admin/search', '搜索管理']],
    trading_staff: [['/trade/manage', '交易管理'], ['/dash', '数智分析']],
    bidder: [['/trade/company', '我的投标'], ['/trade', '公共资源交易']],
    expert: [['/trade/expert', '评标任务']],
    supervisor: [['/work/queue?due=overdue', '超期督办'], ['/screen', '防围串标'], ['/dash', '数智分析'], ['/admin/audit', '审计日志'], ['/admin/search', '搜索管理']],
    admin: [['/admin/users', '用户管理'], ['/admin/audit', '审计日志'], ['/admin/search', '搜索管理'], ['/dash', '数智分析'], ['/screen', '防围串标']],
  };
  return [
    { href: '/', label: '首页' },
    { href: '/me', label: '我的' },
    ...(byRole[u.role] || []).map(([href, label]) => ({ href, label })),
  ];
}

const navList = document.getElementById('nav-list');
const account = document.getElementById('account');
const header = document.getElementById('site-header');
const menuBtn = document.getElementById('menu-toggle');
const elderBtn = document.getElementById('elder-toggle');
const main = document.getElementById('main');

function renderHeader() {
  const u = session.user();
  const path = location.pathname;
  const items = navItems(u);
  // The longest matching link is the current one ("/me/cases" over "/me").
  const current = items
    .filter((it) => it.href && isCurrent(it.href.split('?')[0], path))
    .sort((a, b) => b.href.length - a.href.length)[0];
  replace(
    navList,
    items.map((it) =>
      it.note
        ? h('li', { class: 'nav-note' }, it.note)
        : h(
            'li',
            null,
            h(
              'a',
              {
                href: it.href,
                class: 'nav-link',
                'aria-current': it === current ? 'page' : null,
              },
              it.label,
            ),
          ),
    ),
  );
  if (u) {
    replace(
      account,
      h(
        'span',
        { class: 'who' },
        h('span', { class: 'who-name', id: 'who-name' }, u.display_name || u.login),
        h('span', { class: 'role-badge', dataset: { role: u.role } }, u.role_name || u.role),
      ),
      h('button', { type: 'button', class: 'btn btn-ghost btn-logout', on: { click: onLogout } }, '退出'),
    );
  } else {
    replace(
      account,
      h('a', { href: loginHref(), class: 'btn btn-ghost btn-login' }, '登录'),
      h('a', { href: '/register', class: 'btn btn-primary btn-register' }, '注册'),
    );
  }
}

function isCurrent(href, path) {
  if (href === '/') return path === '/';
  return path === href || path.startsWith(`${href}/`);
}

function loginHref() {
  const p = location.pathname;
  if (p === '/login' || p === '/register' || p === '/') return '/login';
  return `/login?next=${encodeURIComponent(p + location.search)}`;
}

async function onLogout() {
  try {
    await session.logout();
  } catch {
    /* the local session is dropped either way */
  }
  navigate('/', { replace: true });
}

/* ---------- 长者模式 (elder mode) ---------- */
function setElder(on) {
  document.documentElement.classList.toggle('elder', on);
  elderBtn.setAttribute('aria-pressed', on ? 'true' : 'false');
  elderBtn.title = on ? '关闭长者模式（恢复标准字号）' : '开启长者模式（大字号、高对比度）';
  try {
    if (on) localStorage.setItem('isle.elder', '1');
    else localStorage.removeItem('isle.elder');
  } catch {
    /* storage disabled: the mode still applies for this page view */
  }
}
setElder(document.documentElement.classList.contains('elder'));
elderBtn.addEventListener('click', () => setElder(!document.documentElement.classList.contains('elder')));

/* ---------- phone menu ---------- */
function setMenu(open) {
  header.classList.toggle('menu-open', open);
  menuBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
}
menuBtn.addEventListener('click', () => setMenu(menuBtn.getAttribute('aria-expanded') !== 'true'));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && header.classList.contains('menu-open')) {
    setMenu(false);
    menuBtn.focus();
  }
});

/* ---------- router ---------- */
let pageCtl = null; // AbortController of the mounted page
let firstRender = true;

/** Go to an in-app path ("/me", "/search?q=…"). */
export function navigate(to, { replace: rep = false } = {}) {
  const url = new URL(to, location.origin);
  if (url.origin !== location.origin) {
    location.assign(to);
    return;
  }
  const target = url.pathname + url.search + url.hash;
  if (rep) history.replaceState(null, '', target);
  else if (target !== location.pathname + location.search + location.hash) history.pushState(null, '', target);
  render();
}

function setTitle(t) {
  document.title = t ? `${t} · ${SITE}` : SITE;
}

async function render() {
  if (pageCtl) pageCtl.abort();
  const ctl = new AbortController();
  pageCtl = ctl;
  setMenu(false);
  renderHeader();

  const path = location.pathname.replace(/\/+$/, '') || '/';
  const hit = matchRoute(path);
  const route = hit && hit.route;
  const u = session.user();
  const ctx = {
    params: new URLSearchParams(location.search),
    route: hit ? hit.params : {},
    signal: ctl.signal,
    navigate,
    setTitle,
    user: u,
  };

  let view;
  if (!route) {
    view = notFound;
  } else if ((route.auth || route.roles) && !u) {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return;
  } else if (route.roles && !route.roles.includes(u.role)) {
    view = forbidden;
  } else if (route.guest && u) {
    navigate(session.safeNext(ctx.params.get('next')) || session.homeFor(u), { replace: true });
    return;
  } else {
    try {
      view = (await route.load()).render;
    } catch (e) {
      view = failed(e);
    }
    if (ctl.signal.aborted) return;
  }

  setTitle('');
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  try {
    await view(main, ctx);
  } catch (e) {
    if (e && e.name === 'AbortError') return;
    if (ctl.signal.aborted) return;
    replace(main, pageTitle('页面出错了'), notice('error', e && e.message ? e.message : String(e)));
  } finally {
    if (!ctl.signal.aborted) main.removeAttribute('aria-busy');
  }
  if (ctl.signal.aborted) return;
  if (!firstRender) {
    window.scrollTo(0, 0);
    if (!main.contains(document.activeElement)) {
      const h1 = main.querySelector('h1');
      (h1 || main).focus({ preventScroll: true });
    }
  }
  firstRender = false;
}

function notFound(el, ctx) {
  ctx.setTitle('页面不存在');
  replace(
    el,
    pageTitle('页面不存在', '您访问的页面不存在或已移动。'),
    h('p', null, h('a', { href: '/', class: 'btn btn-primary' }, '返回首页')),
  );
}

function forbidden(el, ctx) {
  ctx.setTitle('无权访问');
  replace(
    el,
    pageTitle('无权访问', '当前账号没有访问此页面的权限。'),
    h('p', null, h('a', { href: '/', class: 'btn btn-primary' }, '返回首页')),
  );
}

function failed(e) {
  return (el, ctx) => {
    ctx.setTitle('加载失败');
    replace(el, pageTitle('页面加载失败'), notice('error', '页面资源加载失败，请刷新重试。', String(e && e.message)));
  };
}

/* Intercept in-app links: same origin, no target, no modifier keys, not /api/,
 * not a file (has an extension). */
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.dataset.native !== undefined) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || /\.[a-z0-9]+$/i.test(url.pathname)) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return; // in-page anchor
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => render());

window.addEventListener('isle:unauthenticated', () => {
  session.drop();
  const hit = matchRoute(location.pathname.replace(/\/+$/, '') || '/');
  const route = hit && hit.route;
  if (route && (route.auth || route.roles)) {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }
});

session.onChange(() => renderHeader());

async function footerVersion() {
  try {
    const hz = await get('/healthz');
    const meta = document.getElementById('footer-meta');
    if (meta && hz && hz.version) meta.textContent = `isle ${hz.version}`;
  } catch {
    /* footer stays generic */
  }
}

async function start() {
  let warn = null;
  try {
    await session.load();
  } catch (e) {
    warn = e; // server trouble: continue anonymously but say so
  }
  await render();
  if (warn) main.prepend(notice('warn', `无法获取登录状态：${warn.message}`));
  document.documentElement.classList.add('ready');
  footerVersion();
}

start();
