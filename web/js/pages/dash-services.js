/* /dash/services?level=&county=&town=&item=&from=&to= — 办件明细 (drill-down).
 *
 * One level of GET /api/v1/dash/services (src/dash/drill.c): city → counties →
 * towns → items → the cases. Breadcrumbs come from the answer's `crumbs`; each row
 * opens its `next` level (at the cases level: the case page); a bar chart compares
 * the rows' 一网通办率 against the 90% target; the same table downloads as CSV and
 * Excel with the same parameters. The window (from/to) is kept while drilling. */
import { get, withQuery } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { chartCard, clock, fmtNum, fmtWhen, liveDash, windowForm } from '../dash.js';

const KEYS = ['level', 'county', 'town', 'item', 'from', 'to'];
const MAX_BARS = 40;

export async function render(main, ctx) {
  ctx.setTitle('办件明细');
  const q = {};
  for (const k of KEYS) q[k] = ctx.params.get(k) || '';
  const win = { from: q.from, to: q.to };
  const href = (params) => withQuery('/dash/services', { ...params, from: win.from, to: win.to });

  const title = h('h1', { class: 'page-title', tabindex: '-1' }, '办件明细');
  const sub = h('p', { class: 'page-sub', id: 'dash-services-window' });
  const crumbs = h('nav', { class: 'breadcrumb', 'aria-label': '层级', id: 'dash-crumbs' });
  const exports = h('div', { class: 'dash-exports' });
  const tableBox = h('section', { class: 'dash-section', id: 'dash-table-box' });
  const chart = chartCard(ctx, { id: 'dash-rates', title: '一网通办率对比', file: 'isle-online-rate', hint: '虚线为 90% 目标；按办件量取前 40 行。' });
  const stamp = h('span', { class: 'dash-stamp', id: 'dash-stamp', role: 'status', 'aria-live': 'polite' });
  const toolbar = h('div', { class: 'dash-toolbar' });
  replace(
    main,
    h('div', { class: 'page-head page-head-row' }, h('div', null, title, sub), h('div', { class: 'dash-actions' }, stamp, h('a', { class: 'btn btn-ghost', href: '/dash' }, '返回总览'))),
    crumbs,
    toolbar,
    tableBox,
    chart.card,
  );

  let lastText = '';
  async function load() {
    let t;
    try {
      t = await get(withQuery('/api/v1/dash/services', q), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(tableBox, notice('error', `加载失败：${e.message}`));
      chart.card.hidden = true;
      return;
    }
    if (ctx.signal.aborted) return;
    // A live reload with the same figures leaves the page as it is (no flicker, and a
    // row being clicked stays where it is).
    const text = JSON.stringify(t);
    if (text === lastText) {
      stamp.textContent = `已更新 ${clock()}`;
      return;
    }
    lastText = text;
    // Keep the window the server settled on (defaults filled in) while drilling.
    win.from = t.window.from;
    win.to = t.window.to;
    ctx.setTitle(`办件明细 · ${t.title}`);
    title.textContent = t.title;
    sub.textContent = `统计期 ${t.window.from} 至 ${t.window.to}，共 ${t.total_rows} 行`;
    replace(
      crumbs,
      h(
        'ol',
        null,
        (t.crumbs || []).map((c, i, all) =>
          h('li', null, i === all.length - 1 ? h('span', { 'aria-current': 'page' }, c.label) : h('a', { href: href({ level: c.level, ...c.params }) }, c.label)),
        ),
      ),
    );
    const fileParams = { ...q, from: win.from, to: win.to };
    replace(
      toolbar,
      windowForm(win, (w) => ctx.navigate(withQuery('/dash/services', { ...q, from: w.from, to: w.to }))),
      replace(
        exports,
        h('a', { class: 'btn btn-secondary btn-small', id: 'dash-csv', href: withQuery('/api/v1/dash/services.csv', fileParams), download: '' }, '导出 CSV'),
        h('a', { class: 'btn btn-secondary btn-small', id: 'dash-xlsx', href: withQuery('/api/v1/dash/services.xlsx', fileParams), download: '' }, '导出 Excel'),
      ),
    );
    showTable(t);
    if (t.level === 'item') {
      chart.card.hidden = true;
    } else {
      chart.card.hidden = false;
      await drawChart(t);
    }
    stamp.textContent = `已更新 ${clock()}`;
  }

  function cell(col, v) {
    if (v === null || v === undefined || v === '') return '—';
    if (col.key.endsWith('_at')) return fmtWhen(v); // instants in UTC → Shanghai time
    if (typeof v === 'number') return col.unit === '%' ? `${fmtNum(v)}%` : fmtNum(v);
    return String(v);
  }

  function showTable(t) {
    const cols = t.columns || [];
    const rows = t.rows || [];
    const numeric = (c) => c.unit !== '' && c.key !== 'label';
    if (!rows.length) {
      replace(tableBox, h('p', { class: 'muted', id: 'dash-empty' }, '该统计期内没有办件。'));
      return;
    }
    const table = h(
      'table',
      { class: 'table dash-table', id: 'dash-table' },
      h('caption', { class: 'visually-hidden' }, t.title),
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col', class: numeric(c) ? 'num' : null }, c.unit && c.unit !== '%' ? `${c.label}（${c.unit}）` : c.label)))),
      h(
        'tbody',
        null,
        rows.map((r) => {
          const target = r.next ? href({ level: r.next.level, ...r.next.params }) : r.link || null;
          return h(
            'tr',
            {
              class: target ? 'dash-row-link' : null,
              dataset: { key: r.key },
              on: target
                ? {
                    click: (e) => {
                      if (e.target.closest('a')) return;
                      ctx.navigate(target);
                    },
                  }
                : undefined,
            },
            cols.map((c, i) => {
              const v = c.key === 'label' ? r.label : r.cells ? r.cells[c.key] : null;
              const bad = c.key === 'online_rate' && typeof v === 'number' && v < 90;
              const text = cell(c, v);
              return h(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null, class: [numeric(c) ? 'num' : '', bad ? 'dash-bad' : ''] }, i === 0 && target ? h('a', { href: target }, text) : text);
            }),
          );
        }),
      ),
    );
    replace(
      tableBox,
      h('div', { class: 'table-scroll' }, table),
      rows.length < t.total_rows ? h('p', { class: 'dash-table-foot' }, `显示前 ${rows.length} 行（共 ${t.total_rows} 行），完整数据请导出。`) : null,
      t.level === 'item' ? h('p', { class: 'dash-table-foot' }, '仅列受理编号，不显示申请人信息；点击进入办件页。') : null,
    );
  }

  async function drawChart(t) {
    const rows = [...(t.rows || [])]
      .filter((r) => r.cells && typeof r.cells.online_rate === 'number')
      .sort((a, b) => (b.cells.submitted || 0) - (a.cells.submitted || 0))
      .slice(0, MAX_BARS)
      .reverse();
    chart.box.classList.remove('dash-chart-rows-s', 'dash-chart-rows-m', 'dash-chart-rows-l');
    chart.box.classList.add(rows.length <= 8 ? 'dash-chart-rows-s' : rows.length <= 20 ? 'dash-chart-rows-m' : 'dash-chart-rows-l');
    const c = await chart.draw(() => ({
      animation: false,
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: (p) => `${p[0].name}<br>一网通办率 ${p[0].value}%<br>办件 ${p[0].data.submitted} 件` },
      grid: { left: 8, right: 48, top: 24, bottom: 24, containLabel: true },
      xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      yAxis: { type: 'category', data: rows.map((r) => r.label), axisLabel: { width: 120, overflow: 'truncate' } },
      series: [
        {
          type: 'bar',
          barMaxWidth: 18,
          data: rows.map((r) => ({ value: r.cells.online_rate, submitted: r.cells.submitted, itemStyle: { color: r.cells.online_rate < 90 ? '#b42318' : '#0b5394' } })),
          label: { show: true, position: 'right', formatter: '{c}%' },
          markLine: { silent: true, symbol: 'none', lineStyle: { color: '#b42318', type: 'dashed' }, label: { formatter: '90%' }, data: [{ xAxis: 90 }] },
        },
      ],
    }));
    if (c) {
      c.resize();
      c.off('click');
      c.on('click', (p) => {
        const r = rows[p.dataIndex];
        if (r && r.next) ctx.navigate(href({ level: r.next.level, ...r.next.params }));
      });
    }
  }

  liveDash(ctx, () => {
    stamp.textContent = '数据有更新，正在刷新…';
    load();
  }, 3000);
  await load();
}
