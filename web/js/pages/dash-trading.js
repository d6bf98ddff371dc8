/* /dash/trading?from=&to=&kind=&status= — 数智分析 · 公共资源交易.
 *
 * The trading indicators of GET /api/v1/stats/trading (src/stats/trading.c) as tiles,
 * the amounts by kind and by month as charts, and a table by kind. Choosing a kind
 * (table row or bar) drills to its tenders (GET /api/v1/trade/tenders?kind=&status=),
 * each opening the tender page. */
import { get, withQuery } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { COLORS, chartCard, fenToWan, fmtNum, fmtUnit, kpiTile, liveDash, windowForm } from '../dash.js';
import { KINDS, tradeCss } from './trade-list.js';

const STATUSES = [
  { value: '', label: '全部状态' },
  { value: 'announced', label: '公告中' },
  { value: 'opening', label: '开标中' },
  { value: 'evaluation', label: '评标中' },
  { value: 'publicity', label: '中标候选人公示' },
  { value: 'auction', label: '竞价中' },
  { value: 'awarded', label: '已定标' },
  { value: 'contracted', label: '已签合同' },
  { value: 'failed', label: '流标（流拍）' },
  { value: 'cancelled', label: '已终止' },
];
const PAGE = 50;

export async function render(main, ctx) {
  tradeCss();
  ctx.setTitle('交易分析');
  const kind = KINDS.some((k) => k.value === ctx.params.get('kind')) ? ctx.params.get('kind') : '';
  const status = STATUSES.some((s) => s.value === ctx.params.get('status')) ? ctx.params.get('status') : '';
  const page = Math.max(1, parseInt(ctx.params.get('page') || '1', 10) || 1);
  const q = { from: ctx.params.get('from') || '', to: ctx.params.get('to') || '' };
  const kindLabel = kind ? KINDS.find((k) => k.value === kind).label : '';
  const href = (extra) => withQuery('/dash/trading', { ...q, ...extra });

  const sub = h('p', { class: 'page-sub', id: 'dash-trading-window' });
  const sentence = h('p', { class: 'dash-sentence', id: 'dash-sentence' });
  const kpis = h('div', { class: 'dash-kpis', id: 'dash-trade-kpis' });
  const toolbar = h('div', { class: 'dash-toolbar' });
  const kindsBox = h('section', { class: 'dash-section', id: 'dash-kinds' });
  const tendersBox = h('section', { class: 'card', id: 'dash-tenders' });
  const byKind = chartCard(ctx, { id: 'dash-by-kind', title: '交易金额与节约率（按类别）', file: 'isle-trading-kinds', size: 'm', hint: '点击柱子查看该类别的项目。' });
  const byMonth = chartCard(ctx, { id: 'dash-by-month', title: '月度进场项目与成交金额', file: 'isle-trading-months', size: 'm' });
  const stamp = h('span', { class: 'dash-stamp', id: 'dash-stamp', role: 'status', 'aria-live': 'polite' });
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, kind ? `交易分析 · ${kindLabel}` : '交易分析'), sub),
      h('div', { class: 'dash-actions' }, stamp, h('a', { class: 'btn btn-ghost', href: '/dash' }, '返回总览'), h('a', { class: 'btn btn-ghost', href: '/open/trading' }, '公开展示页')),
    ),
    h('nav', { class: 'breadcrumb', 'aria-label': '层级' }, h('ol', null, h('li', null, kind ? h('a', { href: href({}) }, '全部类别') : h('span', { 'aria-current': 'page' }, '全部类别')), kind ? h('li', null, h('span', { 'aria-current': 'page' }, kindLabel)) : null)),
    toolbar,
    sentence,
    kpis,
    h('div', { class: 'dash-grid' }, byKind.card, byMonth.card),
    kindsBox,
    kind ? tendersBox : null,
  );

  async function load() {
    let t;
    try {
      t = await get(withQuery('/api/v1/stats/trading', { ...q, kind }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(kpis, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    sub.textContent = `统计期 ${t.window.from} 至 ${t.window.to}（上海时间，含首尾）`;
    replace(toolbar, windowForm(t.window, (w) => ctx.navigate(withQuery('/dash/trading', { from: w.from, to: w.to, kind, status }))));
    sentence.textContent = kind ? '' : t.sentence || '';
    replace(
      kpis,
      Object.entries(t.indicators || {}).map(([id, i]) => kpiTile({ key: id, label: i.name, value: i.value, unit: i.unit, target: i.target, direction: i.direction, met: i.target === null || i.value === null ? null : i.direction === 'lower' ? i.value <= i.target : i.value >= i.target })),
    );
    const kinds = t.by_kind || [];
    replace(
      kindsBox,
      h('h2', { class: 'dash-h2' }, '按类别'),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'table dash-table', id: 'dash-kinds-table' },
          h('thead', null, h('tr', null, ['类别', '进场项目', '已成交', '成交金额', '节约率 / 增幅', '不见面开标', '流标率'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
          h(
            'tbody',
            null,
            kinds.map((k) =>
              h(
                'tr',
                { class: 'dash-row-link', dataset: { kind: k.kind }, on: { click: (e) => !e.target.closest('a') && ctx.navigate(href({ kind: k.kind })) } },
                h('th', { scope: 'row' }, h('a', { href: href({ kind: k.kind }) }, k.name)),
                h('td', { class: 'num' }, fmtNum(k.projects)),
                h('td', { class: 'num' }, fmtNum(k.awarded)),
                h('td', { class: 'num' }, `${fmtNum(k.amount)} 亿元`),
                h('td', { class: 'num' }, k.premium_rate !== null && k.premium_rate !== undefined ? `增幅 ${fmtUnit(k.premium_rate, '%')}` : fmtUnit(k.savings_rate, '%')),
                h('td', { class: 'num' }, `${fmtNum(k.remote_openings)} / ${fmtNum(k.openings)} 场`),
                h('td', { class: 'num' }, fmtUnit(k.failed_rate, '%')),
              ),
            ),
          ),
        ),
      ),
    );
    const c1 = await byKind.draw(() => ({
      animation: false,
      color: COLORS,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 56, right: 48, top: 36, bottom: 40 },
      xAxis: { type: 'category', data: kinds.map((k) => k.name), axisLabel: { interval: 0 } },
      yAxis: [
        { type: 'value', name: '亿元' },
        { type: 'value', name: '%', splitLine: { show: false } },
      ],
      series: [
        { name: '成交金额', type: 'bar', barMaxWidth: 40, data: kinds.map((k) => k.amount) },
        { name: '节约率 / 增幅', type: 'line', yAxisIndex: 1, data: kinds.map((k) => (k.premium_rate !== null && k.premium_rate !== undefined ? k.premium_rate : k.savings_rate)) },
      ],
    }));
    if (c1) {
      c1.off('click');
      c1.on('click', (p) => {
        const k = kinds[p.dataIndex];
        if (k) ctx.navigate(href({ kind: k.kind }));
      });
    }
    const months = t.by_month || [];
    await byMonth.draw(() => ({
      animation: false,
      color: COLORS,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 36, bottom: 32 },
      xAxis: { type: 'category', data: months.map((m) => m.month.slice(2)) },
      yAxis: [
        { type: 'value', name: '项', minInterval: 1 },
        { type: 'value', name: '亿元', splitLine: { show: false } },
      ],
      series: [
        { name: '进场项目', type: 'bar', barMaxWidth: 24, data: months.map((m) => m.projects) },
        { name: '成交金额', type: 'line', yAxisIndex: 1, data: months.map((m) => m.amount) },
      ],
    }));
    if (kind) await loadTenders();
  }

  async function loadTenders() {
    let r;
    try {
      r = await get(withQuery('/api/v1/trade/tenders', { kind, status, limit: PAGE, offset: (page - 1) * PAGE }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      // The list API may not be there (an older server): the public results list has the same rows.
      replace(tendersBox, h('h2', null, `${kindLabel}项目`), notice('warn', `项目列表暂不可用：${e.message}`), h('a', { href: withQuery('/trade/results', { kind }) }, '查看公开交易结果'));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = r.items || [];
    const statusSel = h(
      'select',
      { id: 'dash-status', name: 'status', 'aria-label': '项目状态', on: { change: (e) => ctx.navigate(href({ kind, status: e.target.value })) } },
      STATUSES.map((s) => h('option', { value: s.value, selected: s.value === status }, s.label)),
    );
    const pages = Math.max(1, Math.ceil((r.total || 0) / PAGE));
    replace(
      tendersBox,
      h('div', { class: 'dash-card-head' }, h('h2', null, `${kindLabel}项目（${r.total ?? items.length}）`), h('div', { class: 'dash-window' }, statusSel)),
      items.length
        ? h(
            'div',
            { class: 'table-scroll' },
            h(
              'table',
              { class: 'table dash-table', id: 'dash-tenders-table' },
              h('thead', null, h('tr', null, ['项目编号', '项目名称', '状态', '预算 / 起拍价', '中标 / 成交价', '节约率 / 增幅'].map((c, i) => h('th', { scope: 'col', class: i >= 3 ? 'num' : null }, c)))),
              h(
                'tbody',
                null,
                items.map((x) =>
                  h(
                    'tr',
                    { class: 'dash-row-link', dataset: { id: String(x.id) }, on: { click: (e) => !e.target.closest('a') && ctx.navigate(`/trade/tenders/${x.id}`) } },
                    h('td', null, h('a', { href: `/trade/tenders/${x.id}` }, x.tender_no)),
                    h('td', null, x.title),
                    h('td', null, x.status_label || x.status),
                    h('td', { class: 'num' }, fenToWan(x.budget_fen ?? x.reserve_fen)),
                    h('td', { class: 'num' }, fenToWan(x.contract_fen ?? x.award_fen)),
                    h('td', { class: 'num' }, x.premium_rate !== null && x.premium_rate !== undefined ? `增幅 ${fmtUnit(Math.round(x.premium_rate * 10000) / 100, '%')}` : x.savings_rate !== null && x.savings_rate !== undefined ? fmtUnit(Math.round(x.savings_rate * 10000) / 100, '%') : '—'),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, '没有符合条件的项目。'),
      pages > 1
        ? h(
            'nav',
            { class: 'pager', 'aria-label': '分页' },
            page > 1 ? h('a', { class: 'btn btn-ghost btn-small', href: href({ kind, status, page: page - 1 }) }, '上一页') : null,
            h('span', { class: 'pager-info' }, `第 ${page} / ${pages} 页`),
            page < pages ? h('a', { class: 'btn btn-ghost btn-small', href: href({ kind, status, page: page + 1 }) }, '下一页') : null,
          )
        : null,
    );
  }

  liveDash(ctx, load, 3000);
  await load();
}
