/* /work/dispatch — 派单调度: the staff dispatch board of 办事不出岛.
 *
 * Figures on top (open requests, waiting for an agent, waiting for acceptance,
 * overdue, agents on duty); a map of the islands on their coordinates (ECharts,
 * vendored at /vendor/echarts.min.js) with the open requests and the agents on
 * duty per island; the queue of requests nobody could take yet, each with the
 * dispatcher's reason (GET /api/v1/assist/{id} → `waiting`, e.g. nobody with
 * the skill on duty, or no boat before the end of working hours); and the open
 * requests with their agent, the dispatcher's reason and the SLA. Staff open a
 * request to reassign it. The board refreshes every 30 seconds. */
import { get, withQuery } from '../api.js';
import { dueText, fmtShort, placeText, statusBadge, URGENCY } from '../assist.js';
import { h, notice, replace } from '../dom.js';
import { loadECharts } from '../charts.js';

const REFRESH_MS = 30000;
const AGENT_PAGE = 200;
const MAX_AGENTS = 3000;


async function allAgents(signal) {
  const out = [];
  for (let offset = 0; offset < MAX_AGENTS; offset += AGENT_PAGE) {
    const r = await get(withQuery('/api/v1/agents', { on_duty: 1, limit: AGENT_PAGE, offset }), { signal });
    out.push(...(r.items || []));
    if (!r.items || r.items.length < AGENT_PAGE) break;
  }
  return out;
}

export async function render(main, ctx) {
  ctx.setTitle('派单调度');
  const overdueOnly = ctx.params.get('due') === 'overdue';
  const kpis = h('div', { class: 'dispatch-kpis', id: 'dispatch-kpis' });
  const mapBox = h('div', { class: 'dispatch-map', id: 'dispatch-map', role: 'img', 'aria-label': '各岛开放预约和在岗代办员分布图（预约明细见下方列表）', 'aria-describedby': 'dispatch-map-hint' });
  const waitingBox = h('section', { class: 'card', id: 'dispatch-waiting' });
  const openBox = h('section', { class: 'card', id: 'dispatch-open' });
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '派单调度'), h('p', { class: 'page-sub' }, '智能派单按渡轮时刻、技能、负荷和公平性选人；无人可派的预约在这里人工处理。')),
      h('div', { class: 'head-links' }, h('a', { class: 'btn btn-secondary', href: '/work/agents' }, '代办员管理'), ' ', h('a', { class: 'btn btn-primary', href: '/assist/new' }, '电话受理')),
    ),
    h(
      'nav',
      { class: 'tabs', 'aria-label': '范围' },
      h(
        'ul',
        null,
        h('li', null, h('a', { class: 'tab', href: '/work/dispatch', 'aria-current': overdueOnly ? null : 'page' }, '全部开放预约')),
        h('li', null, h('a', { class: 'tab', href: '/work/dispatch?due=overdue', id: 'dispatch-overdue-tab', 'aria-current': overdueOnly ? 'page' : null }, '超时督办')),
      ),
    ),
    kpis,
    h('section', { class: 'card' }, h('h2', null, '分布图'), mapBox, h('p', { class: 'hint', id: 'dispatch-map-hint' }, '蓝点：有人居住的岛（点越大人口越多，颜色越深在岗代办员越多）；红色标记：开放预约数。')),
    waitingBox,
    openBox,
  );
  let chart = null;
  let timer = 0;
  const onResize = () => chart && chart.resize();
  window.addEventListener('resize', onResize);
  ctx.signal.addEventListener('abort', () => {
    clearTimeout(timer);
    window.removeEventListener('resize', onResize);
    if (chart) chart.dispose();
  });

  async function load() {
    let reqs, islands, agents;
    try {
      [reqs, islands, agents] = await Promise.all([
        get(withQuery('/api/v1/assist', { status: 'open', due: overdueOnly ? 'overdue' : '', limit: 200 }), { signal: ctx.signal }),
        get('/api/v1/places/islands', { signal: ctx.signal }),
        allAgents(ctx.signal),
      ]);
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(kpis, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = reqs.items || [];
    const waiting = items.filter((r) => r.status === 'new');
    const toAccept = items.filter((r) => r.status === 'dispatched');
    const overdue = items.filter((r) => r.sla && (r.sla.accept_overdue || r.sla.done_overdue));
    const kpi = (label, value, cls) => h('div', { class: ['kpi', cls] }, h('span', { class: 'kpi-value' }, String(value)), h('span', { class: 'kpi-label' }, label));
    replace(
      kpis,
      kpi('开放预约', reqs.total ?? items.length),
      kpi('待派单', waiting.length, waiting.length ? 'kpi-warn' : ''),
      kpi('待接单', toAccept.length),
      kpi('已超时', overdue.length, overdue.length ? 'kpi-bad' : ''),
      kpi('在岗代办员', agents.length),
    );

    // The "nobody available" reasons come with each request's detail.
    const details = await Promise.all(waiting.slice(0, 20).map((r) => get(`/api/v1/assist/${r.id}`, { signal: ctx.signal }).catch(() => null)));
    if (ctx.signal.aborted) return;
    replace(
      waitingBox,
      h('h2', null, `待派单（${waiting.length}）`),
      waiting.length
        ? h(
            'ul',
            { class: 'dispatch-list', id: 'dispatch-waiting-list' },
            waiting.map((r, i) =>
              h(
                'li',
                { class: 'dispatch-row', dataset: { id: r.id } },
                h('a', { href: `/assist/${r.id}` }, h('strong', null, r.item_name || '帮办代办'), ` · ${r.request_no}`),
                h('span', null, placeText(r), r.urgency === 'urgent' ? h('span', { class: 'badge badge-urgent' }, URGENCY.urgent) : null),
                h('span', { class: 'dispatch-why' }, (details[i] && details[i].waiting) || '暂无合适的代办员，系统每分钟重试，超时将上报督办。'),
              ),
            ),
          )
        : h('p', { class: 'muted' }, '所有预约都已派出。'),
    );
    replace(
      openBox,
      h('h2', null, `进行中（${items.length - waiting.length}）`),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'table dispatch-table', id: 'dispatch-table' },
          h('thead', null, h('tr', null, ['编号', '事项', '地点', '状态', '代办员', '时限'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            null,
            items
              .filter((r) => r.status !== 'new')
              .map((r) => {
                const due = r.status === 'dispatched' ? r.sla && r.sla.accept_due : r.sla && r.sla.done_due;
                const late = r.sla && (r.sla.accept_overdue || r.sla.done_overdue);
                return h(
                  'tr',
                  { class: late ? 'row-overdue' : '', dataset: { id: r.id } },
                  h('td', null, h('a', { href: `/assist/${r.id}` }, r.request_no)),
                  h('td', null, r.item_name || ''),
                  h('td', null, placeText(r)),
                  h('td', null, statusBadge(r.status, r.status_label)),
                  h('td', null, r.agent ? r.agent.name : '', r.remote ? '（网上）' : ''),
                  h('td', { class: late ? 'overdue' : '' }, due ? `${fmtShort(due)} ${dueText(due)}` : ''),
                );
              }),
          ),
        ),
      ),
    );
    await drawMap(islands.items || [], items, agents);
    timer = setTimeout(load, REFRESH_MS);
  }

  async function drawMap(islands, items, agents) {
    let echarts;
    try {
      echarts = await loadECharts();
    } catch (e) {
      replace(mapBox, notice('error', e.message));
      return;
    }
    if (ctx.signal.aborted) return;
    const reqBy = new Map();
    for (const r of items) if (r.island) reqBy.set(r.island.id, (reqBy.get(r.island.id) || 0) + 1);
    const agBy = new Map();
    for (const a of agents) {
      const isl = (a.position && a.position.island_id) || a.island_id;
      agBy.set(isl, (agBy.get(isl) || 0) + 1);
    }
    const shown = islands.filter((i) => Number.isFinite(i.lon) && Number.isFinite(i.lat) && (i.inhabited || reqBy.has(i.id)));
    const isl = shown.map((i) => ({ name: i.name, value: [i.lon, i.lat, agBy.get(i.id) || 0, i.population || 0] }));
    const req = shown.filter((i) => reqBy.has(i.id)).map((i) => ({ name: i.name, value: [i.lon, i.lat, reqBy.get(i.id)] }));
    const maxAgents = Math.max(1, ...isl.map((p) => p.value[2]));
    if (!chart) chart = echarts.init(mapBox, null, { renderer: 'canvas' });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 24, bottom: 32 },
      legend: { top: 0, data: ['在岗代办员', '开放预约'] },
      tooltip: {
        formatter: (p) => (p.seriesIndex === 0 ? `${p.name}<br>在岗代办员 ${p.value[2]} 人<br>人口 ${p.value[3]}` : `${p.name}<br>开放预约 ${p.value[2]} 件`),
      },
      xAxis: { type: 'value', scale: true, name: '经度', axisLabel: { formatter: (v) => v.toFixed(1) } },
      yAxis: { type: 'value', scale: true, name: '纬度', axisLabel: { formatter: (v) => v.toFixed(1) } },
      visualMap: { show: false, seriesIndex: 0, dimension: 2, min: 0, max: maxAgents, inRange: { color: ['#c6dbef', '#08519c'] } },
      series: [
        {
          name: '在岗代办员',
          type: 'scatter',
          data: isl,
          symbolSize: (v) => 6 + Math.min(18, Math.sqrt(v[3] || 0) / 20),
          label: { show: true, formatter: (p) => (p.value[3] >= 20000 ? p.name : ''), position: 'right', fontSize: 11, color: '#3e4c59' },
        },
        {
          name: '开放预约',
          type: 'scatter',
          data: req,
          symbol: 'pin',
          symbolSize: (v) => 22 + Math.min(30, v[2] * 4),
          itemStyle: { color: '#b42318' },
          label: { show: true, formatter: (p) => String(p.value[2]), color: '#fff', fontSize: 11 },
          z: 3,
        },
      ],
    });
  }

  await load();
}
