/* /trade and /trade/results — the public lists of public resource trading
 * (GET /api/v1/trade/tenders?phase=open, GET /api/v1/trade/results): announcements
 * still running (公告中 … 竞价中) and results (已定标, 已签合同, 流标), filtered by
 * kind, status and a keyword, paged; filters and page live in the URL. Open to
 * everyone, logged in or not; no personal data is shown (company names only).
 *
 * Also exports the small helpers the other trade pages share (CSS loading,
 * badges, money and time text). */
import { get, withQuery } from '../api.js';
import { field, fmtDateTime, h, notice, replace } from '../dom.js';

const PAGE = 10;

export const KINDS = [
  { value: 'works', label: '建设工程' },
  { value: 'procurement', label: '政府采购' },
  { value: 'property', label: '国有产权' },
  { value: 'land', label: '土地出让' },
  { value: 'emission', label: '排污权' },
];
export const SALE_KINDS = new Set(['property', 'land', 'emission']);
export const STAFF_ROLES = ['trading_staff', 'admin'];
export const BIDDER_ROLES = ['bidder', 'company'];

const OPEN_STATUSES = [
  { value: '', label: '全部进行中' },
  { value: 'announced', label: '公告中' },
  { value: 'opening', label: '开标中' },
  { value: 'evaluation', label: '评标中' },
  { value: 'publicity', label: '中标候选人公示' },
  { value: 'auction', label: '竞价中' },
];
const RESULT_STATUSES = [
  { value: '', label: '全部结果' },
  { value: 'awarded', label: '已定标' },
  { value: 'contracted', label: '已签合同' },
  { value: 'failed', label: '流标' },
];

/** Link trade.css once (the shell's index.html does not know about it). */
export function tradeCss() {
  if (document.querySelector('link[data-trade-css]')) return;
  document.head.appendChild(h('link', { rel: 'stylesheet', href: '/css/trade.css', dataset: { tradeCss: '' } }));
}

export function statusBadge(t) {
  return h('span', { class: 'trade-status', dataset: { status: t.status } }, t.status_label || t.status);
}

export function kindBadge(t) {
  return h('span', { class: 'trade-kind' }, t.kind_label || t.kind);
}

/** "12345678.90" → "¥12,345,678.90"; null → "—". */
export function yuan(s) {
  if (s === null || s === undefined || s === '') return '—';
  const [i, f = '00'] = String(s).split('.');
  return `¥${i.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${f.padEnd(2, '0')}`;
}

/** 0.1234 → "12.34%". */
export function pct(x) {
  return typeof x === 'number' ? `${(x * 100).toFixed(2)}%` : '—';
}

/** Time left until iso in words ("还剩 12 天 3 小时"), or '' when past. */
export function leftText(iso) {
  const ms = Date.parse(iso) - Date.now();
  if (!(ms > 0)) return '';
  const d = Math.floor(ms / 86400000);
  const hrs = Math.floor((ms % 86400000) / 3600000);
  if (d > 0) return `还剩 ${d} 天 ${hrs} 小时`;
  const m = Math.floor((ms % 3600000) / 60000);
  return `还剩 ${hrs} 小时 ${m} 分`;
}

/** The tabs of the public area (and the viewer's own desk). */
export function tradeTabs(ctx, current) {
  const u = ctx.user;
  const tabs = [
    { href: '/trade', label: '交易公告' },
    { href: '/trade/results', label: '交易结果' },
  ];
  if (u && (STAFF_ROLES.includes(u.role) || u.role === 'supervisor')) tabs.push({ href: '/trade/manage', label: '交易管理' });
  if (u && BIDDER_ROLES.includes(u.role)) tabs.push({ href: '/trade/company', label: '我的投标' });
  return h(
    'ul',
    { class: 'trade-tabs', 'aria-label': '公共资源交易' },
    tabs.map((t) => h('li', null, h('a', { href: t.href, 'aria-current': t.href === current ? 'page' : null }, t.label))),
  );
}

function fact(label, value, cls) {
  return h('div', null, h('dt', null, label), h('dd', { class: cls || null }, value));
}

function card(t, results) {
  const sale = SALE_KINDS.has(t.kind);
  const facts = [fact(sale ? '出让人' : '招标人', t.buyer)];
  if (results) {
    if (t.status === 'failed') {
      facts.push(fact('流标原因', t.failed_reason || '—', 'trade-fail-reason'));
    } else {
      facts.push(fact(sale ? '受让人' : '中标人', t.award_company ? t.award_company.name : '—'));
      facts.push(fact(sale ? '成交价' : '中标价', yuan(t.award), 'trade-money'));
      if (sale && typeof t.premium_rate === 'number') facts.push(fact('溢价率', pct(t.premium_rate), 'trade-rate-good'));
      if (!sale && typeof t.savings_rate === 'number') facts.push(fact('节支率', pct(t.savings_rate), 'trade-rate-good'));
    }
    facts.push(t.awarded_at ? fact('定标时间', fmtDateTime(t.awarded_at)) : fact('公告时间', fmtDateTime(t.announce_at)));
  } else {
    facts.push(fact(sale ? '起拍价' : '预算', yuan(sale ? t.reserve : t.budget), 'trade-money'));
    facts.push(fact(sale ? '报名截止' : '投标截止', `${fmtDateTime(t.deadline_at)}${t.status === 'announced' && leftText(t.deadline_at) ? `（${leftText(t.deadline_at)}）` : ''}`));
  }
  return h(
    'li',
    { class: 'trade-card', dataset: { id: String(t.id), status: t.status } },
    h('div', { class: 'trade-card-head' }, kindBadge(t), statusBadge(t), h('span', { class: 'trade-no' }, t.tender_no)),
    h('h2', { class: 'trade-card-title' }, h('a', { href: `/trade/tenders/${t.id}` }, t.title)),
    h('dl', { class: 'trade-facts' }, facts),
  );
}

function pager(total, page, url) {
  const pages = Math.max(1, Math.ceil(total / PAGE));
  if (pages <= 1) return null;
  const link = (p, text) =>
    p < 1 || p > pages
      ? h('span', { class: 'btn btn-ghost', 'aria-disabled': 'true' }, text)
      : h('a', { class: 'btn btn-ghost', href: url(p), rel: p < page ? 'prev' : 'next' }, text);
  return h('nav', { class: 'pager', 'aria-label': '翻页' }, link(page - 1, '上一页'), h('span', { class: 'pager-info' }, `第 ${page} / ${pages} 页`), link(page + 1, '下一页'));
}

export async function render(main, ctx) {
  tradeCss();
  const results = location.pathname.replace(/\/+$/, '') === '/trade/results';
  const base = results ? '/trade/results' : '/trade';
  const statuses = results ? RESULT_STATUSES : OPEN_STATUSES;
  const p = ctx.params;
  const f = {
    kind: KINDS.some((k) => k.value === p.get('kind')) ? p.get('kind') : '',
    status: statuses.some((s) => s.value === p.get('status')) ? p.get('status') : '',
    q: (p.get('q') || '').trim().slice(0, 100),
  };
  const page = Math.max(1, parseInt(p.get('page') || '1', 10) || 1);
  const title = results ? '交易结果' : '交易公告';
  ctx.setTitle(`${title} · 公共资源交易`);

  const sel = (label, name, options, value) => {
    const w = field({ label, name, options, value });
    w.querySelector('.opt')?.remove();
    return w;
  };
  const fKind = sel('交易类别', 'kind', [{ value: '', label: '全部类别' }, ...KINDS], f.kind);
  const fStatus = sel('状态', 'status', statuses, f.status);
  const fQ = field({ label: '关键词', name: 'q', type: 'search', value: f.q, placeholder: '项目名称、编号或招标人', maxlength: 100 });
  fQ.querySelector('.opt')?.remove();
  const read = () => ({ kind: fKind.control.value, status: fStatus.control.value, q: fQ.control.value.trim() });
  const filters = h(
    'form',
    { class: 'filters', id: 'trade-filters', role: 'search', 'aria-label': '筛选项目' },
    fQ,
    fKind,
    fStatus,
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, '查询'),
      f.kind || f.status || f.q ? h('a', { class: 'btn btn-ghost', href: base }, '清除') : null,
    ),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(withQuery(base, read()));
  });
  for (const w of [fKind, fStatus]) w.control.addEventListener('change', () => ctx.navigate(withQuery(base, read())));

  const box = h('div', { id: 'trade-results', 'aria-live': 'polite' }, h('p', { class: 'loading' }, '正在加载…'));
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { class: 'page-title', tabindex: '-1' }, `公共资源交易 · ${title}`),
      h('p', { class: 'page-sub' }, results ? '已定标、已签合同和流标项目的结果公告。' : '舟山市公共资源交易中心正在进行的招标、采购和出让项目。全流程电子化，不见面开标。'),
    ),
    tradeTabs(ctx, base),
    filters,
    box,
  );

  let r;
  try {
    r = await get(
      withQuery(results ? '/api/v1/trade/results' : '/api/v1/trade/tenders', {
        phase: results ? '' : 'open', kind: f.kind, status: f.status, q: f.q, limit: PAGE, offset: (page - 1) * PAGE,
      }),
      { signal: ctx.signal },
    );
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(box, notice('error', `加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  if (!r.items.length) {
    replace(box, h('div', { class: 'empty-state' }, h('p', { class: 'empty-title' }, f.kind || f.status || f.q ? '没有符合条件的项目' : results ? '暂无交易结果' : '暂无正在进行的项目')));
    return;
  }
  replace(
    box,
    h('p', { class: 'trade-summary', id: 'trade-total' }, `共 ${r.total} 个项目`),
    h('ol', { class: 'trade-list', id: 'trade-list' }, r.items.map((t) => card(t, results))),
    pager(r.total, page, (pg) => withQuery(base, { ...f, page: pg > 1 ? pg : '' })),
  );
}
