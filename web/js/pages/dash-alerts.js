/* /dash/alerts?status=open|resolved|all — 无感监测.
 *
 * The monitor (src/dash/watch.c) checks this month's figures per town and department
 * and opens an alert when one crosses its target (一网通办率 under 90% in a town with
 * enough cases, a department's 超期率 over 5%); it resolves itself when the figure is
 * back. Each alert shows the indicator, its scope, the month, the value against the
 * target and a link to the rows behind it. Below: the city's 一网通办率 over the last
 * 90 days from the daily history (GET /api/v1/dash/history). */
import { get, withQuery } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { chartCard, fmtUnit, fmtWhen, liveDash, targetText } from '../dash.js';

const TABS = [
  { key: 'open', label: '未恢复' },
  { key: 'resolved', label: '已恢复' },
  { key: 'all', label: '全部' },
];
const DIMS = { town: '乡镇（街道）', department: '部门' };
const UNITS = { online_rate: '%', overdue_rate: '%' };

export async function render(main, ctx) {
  ctx.setTitle('无感监测');
  const status = TABS.some((t) => t.key === ctx.params.get('status')) ? ctx.params.get('status') : 'open';
  const listBox = h('section', { class: 'card', id: 'dash-alerts' });
  const stamp = h('span', { class: 'dash-stamp', id: 'dash-stamp', role: 'status', 'aria-live': 'polite' });
  const hist = chartCard(ctx, { id: 'dash-history', title: '全市一网通办率（近 90 天，按日）', file: 'isle-online-rate-90d', size: 'm', hint: '每日当天提交办件的一网通办率；虚线为 90% 目标，无办件的日期留空。' });
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '无感监测'), h('p', { class: 'page-sub' }, '系统持续计算各乡镇、部门本月指标，越过目标即预警并通知监管人员，恢复后自动关闭。')),
      h('div', { class: 'dash-actions' }, stamp, h('a', { class: 'btn btn-ghost', href: '/dash' }, '返回总览')),
    ),
    h(
      'nav',
      { class: 'tabs', 'aria-label': '预警状态' },
      h('ul', null, TABS.map((t) => h('li', null, h('a', { class: 'tab', href: t.key === 'open' ? '/dash/alerts' : `/dash/alerts?status=${t.key}`, 'aria-current': t.key === status ? 'page' : null, dataset: { status: t.key } }, t.label)))),
    ),
    listBox,
    hist.card,
  );

  async function loadList() {
    let r;
    try {
      r = await get(withQuery('/api/v1/dash/alerts', { status: status === 'all' ? '' : status, limit: 200 }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(listBox, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = r.items || [];
    replace(
      listBox,
      h('h2', null, `${TABS.find((t) => t.key === status).label}预警（${r.total}）`),
      items.length
        ? h(
            'ul',
            { class: 'dash-alert-list', id: 'dash-alert-list' },
            items.map((a) => {
              const unit = UNITS[a.indicator] || '%';
              return h(
                'li',
                { class: ['dash-alert', a.status === 'resolved' ? 'dash-alert-resolved' : ''], dataset: { id: String(a.id), status: a.status } },
                h(
                  'div',
                  { class: 'dash-alert-head' },
                  h('span', null, `${a.key_name} · ${a.name}`),
                  a.status === 'open' ? h('span', { class: 'dash-badge dash-badge-bad' }, '预警中') : h('span', { class: 'dash-badge dash-badge-ok' }, '已恢复'),
                ),
                h('p', { class: 'dash-alert-figure' }, `${a.period}：`, h('strong', null, fmtUnit(a.value, unit)), `（目标 ${targetText(a.target, unit, a.direction)}，基于 ${a.sample} 件）`),
                h(
                  'p',
                  { class: 'dash-alert-meta' },
                  `范围：${DIMS[a.dim] || a.dim} ${a.key_name} · 通知：监管人员 · 发现于 ${fmtWhen(a.opened_at)}`,
                  a.resolved_at ? ` · 恢复于 ${fmtWhen(a.resolved_at)}` : '',
                ),
                h('p', null, h('a', { href: a.rows_link, class: 'dash-alert-rows' }, '查看相关办件 →')),
              );
            }),
          )
        : h('p', { class: 'muted', id: 'dash-alerts-empty' }, status === 'open' ? '目前没有未恢复的预警，各项指标均在目标内。' : '没有预警记录。'),
    );
  }

  async function loadHistory() {
    let r;
    try {
      r = await get('/api/v1/dash/history?indicator=online_rate&days=90', { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(hist.box, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = r.items || [];
    await hist.draw(() => ({
      animation: false,
      tooltip: { trigger: 'axis', formatter: (p) => `${p[0].name}<br>一网通办率 ${p[0].value === null || p[0].value === undefined ? '—（无办件）' : `${p[0].value}%`}` },
      grid: { left: 48, right: 24, top: 24, bottom: 32 },
      xAxis: { type: 'category', data: items.map((i) => i.day.slice(5)) },
      yAxis: { type: 'value', name: '%', max: 100, min: (v) => Math.max(0, Math.floor(Math.min(v.min, 80) / 10) * 10) },
      series: [
        {
          type: 'line',
          connectNulls: false,
          showSymbol: true,
          symbolSize: 4,
          data: items.map((i) => i.value),
          itemStyle: { color: '#0b5394' },
          markLine: { silent: true, symbol: 'none', lineStyle: { color: '#b42318', type: 'dashed' }, label: { formatter: '目标 90%', position: 'insideEndTop' }, data: [{ yAxis: 90 }] },
        },
      ],
    }));
  }

  async function load() {
    await Promise.all([loadList(), loadHistory()]);
  }
  liveDash(ctx, async () => {
    await loadList();
  }, 3000);
  await load();
}
