/* /open/trading — 交易成果展示, the public transparency page of public resource trading.
 *
 * No login and no personal data: the aggregate trading figures of the last year
 * (GET /api/v1/stats/trading, public), the amounts by kind and by month as charts
 * (each downloadable as PNG), and the latest results (GET /api/v1/trade/results:
 * tender, winning company, price) linking to each tender's public page. */
import { get, withQuery } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { COLORS, chartCard, fenToWan, fmtNum, fmtUnit, fmtWhen, kpiTile } from '../dash.js';
import { tradeCss } from './trade-list.js';

const HEADLINE = ['trade.projects', 'trade.amount', 'trade.savings', 'trade.savings_rate', 'trade.premium_rate', 'trade.remote_openings', 'trade.remote_rate', 'trade.e_rate', 'trade.ca_rate'];
const LATEST = 10;

export async function render(main, ctx) {
  tradeCss();
  ctx.setTitle('交易成果展示');
  const sub = h('p', { class: 'page-sub', id: 'open-window' });
  const sentence = h('p', { class: 'dash-sentence', id: 'open-sentence' });
  const kpis = h('div', { class: 'dash-kpis', id: 'open-kpis' });
  const results = h('section', { class: 'card', id: 'open-results' });
  const byKind = chartCard(ctx, { id: 'open-by-kind', title: '成交金额（按类别）', file: 'zhoushan-trading-kinds', size: 'm' });
  const byMonth = chartCard(ctx, { id: 'open-by-month', title: '月度进场项目与成交金额', file: 'zhoushan-trading-months', size: 'm' });
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '交易成果展示'), sub),
      h('div', { class: 'dash-actions' }, h('a', { class: 'btn btn-ghost', href: '/trade/results' }, '全部交易结果'), h('a', { class: 'btn btn-ghost', href: '/trade' }, '交易公告')),
    ),
    sentence,
    kpis,
    h('div', { class: 'dash-grid' }, byKind.card, byMonth.card),
    results,
    h('p', { class: 'hint' }, '数据由平台交易记录实时汇总，仅公开项目与企业层面的信息，不含个人信息。'),
  );

  let t;
  try {
    t = await get('/api/v1/stats/trading', { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(kpis, notice('error', `加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  sub.textContent = `统计期 ${t.window.from} 至 ${t.window.to}`;
  sentence.textContent = t.sentence || '';
  const ind = t.indicators || {};
  replace(
    kpis,
    HEADLINE.filter((id) => ind[id]).map((id) => kpiTile({ key: id, label: ind[id].name, value: ind[id].value, unit: ind[id].unit })),
  );
  const kinds = t.by_kind || [];
  const months = t.by_month || [];
  const charts = Promise.all([
    byKind.draw(() => ({
      animation: false,
      color: COLORS,
      tooltip: { trigger: 'axis' },
      grid: { left: 56, right: 16, top: 24, bottom: 40 },
      xAxis: { type: 'category', data: kinds.map((k) => k.name), axisLabel: { interval: 0 } },
      yAxis: { type: 'value', name: '亿元' },
      series: [{ name: '成交金额', type: 'bar', barMaxWidth: 40, data: kinds.map((k) => k.amount), label: { show: true, position: 'top' } }],
    })),
    byMonth.draw(() => ({
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
    })),
  ]);

  let r = null;
  try {
    r = await get(withQuery('/api/v1/trade/results', { limit: LATEST }), { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(results, h('h2', null, '最新交易结果'), notice('warn', `交易结果暂不可用：${e.message}`));
  }
  if (r && !ctx.signal.aborted) {
    const items = r.items || [];
    replace(
      results,
      h('h2', null, '最新交易结果'),
      items.length
        ? h(
            'ul',
            { class: 'dash-results', id: 'open-results-list' },
            items.map((x) => {
              const price = x.contract_fen ?? x.award_fen;
              const rate = x.premium_rate !== null && x.premium_rate !== undefined ? `增幅 ${fmtUnit(Math.round(x.premium_rate * 10000) / 100, '%')}` : x.savings_rate !== null && x.savings_rate !== undefined ? `节约率 ${fmtUnit(Math.round(x.savings_rate * 10000) / 100, '%')}` : '';
              return h(
                'li',
                { class: 'dash-result', dataset: { id: String(x.id) } },
                h('a', { href: `/trade/tenders/${x.id}` }, h('strong', null, x.title)),
                h('span', { class: 'dash-result-meta' }, `${x.kind_label || x.kind} · ${x.tender_no} · ${x.status_label || x.status}`),
                x.status === 'failed'
                  ? h('span', null, x.failed_reason ? `流标：${x.failed_reason}` : '流标')
                  : h('span', null, x.award_company ? `${x.sale ? '受让方' : '中标单位'}：${x.award_company.name}` : '', price !== null && price !== undefined ? ` · ${fenToWan(price)}` : '', rate ? ` · ${rate}` : '', x.awarded_at ? ` · ${fmtWhen(x.awarded_at).slice(0, 10)}` : ''),
              );
            }),
          )
        : h('p', { class: 'muted' }, '暂无交易结果。'),
      r.total > items.length ? h('p', null, h('a', { href: '/trade/results' }, `查看全部 ${fmtNum(r.total)} 项结果 →`)) : null,
    );
  }
  await charts;
}
