/* /coverage — 10分钟服务圈, public: for a service (帮办代办, 社保医保, 户籍办理 …
 * GET /api/v1/coverage/services) and a departure time, the share of residents
 * whose village reaches a station offering it within 10 minutes (walk or drive
 * on the island, ferries across), per town; a map-like view on the coordinates
 * (ECharts: the stations that offer the service, each town coloured by its share,
 * the villages left out in red at their island) and the table of villages left
 * out with the minutes they need and the nearest station. */
import { get, withQuery } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { loadECharts } from '../charts.js';


const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);

export async function render(main, ctx) {
  ctx.setTitle('10分钟服务圈');
  const service = ctx.params.get('service') || '';
  const at = /^\d{2}:\d{2}$/.test(ctx.params.get('at') || '') ? ctx.params.get('at') : '10:00';
  let services, towns, islands, stations;
  try {
    [services, towns, islands, stations] = await Promise.all([
      get('/api/v1/coverage/services', { signal: ctx.signal }),
      get('/api/v1/places/towns', { signal: ctx.signal }),
      get('/api/v1/places/islands', { signal: ctx.signal }),
      get('/api/v1/places/stations', { signal: ctx.signal }),
    ]);
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(main, notice('error', `加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  const svc = service || services.default;
  const kinds = new Set(((services.services || []).find((s) => s.code === svc) || {}).kinds || []);
  const form = h(
    'form',
    { class: 'filters', id: 'coverage-form' },
    h('div', { class: 'field' }, h('label', { for: 'coverage-service' }, '服务'), h('select', { id: 'coverage-service', name: 'service' }, (services.services || []).map((s) => h('option', { value: s.code, selected: s.code === svc }, s.name)))),
    h('div', { class: 'field' }, h('label', { for: 'coverage-at' }, '出发时间'), h('input', { id: 'coverage-at', name: 'at', type: 'time', value: at })),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, '计算'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.navigate(withQuery('/coverage', { service: form.elements.service.value, at: form.elements.at.value }));
  });
  const kpis = h('div', { class: 'dispatch-kpis', id: 'coverage-kpis' }, h('p', { class: 'loading' }, '正在计算…'));
  // The map's figures are the two tables below; the hint says how to read it.
  const mapBox = h('div', { class: 'dispatch-map', id: 'coverage-map', role: 'img', 'aria-label': '服务圈分布图（各村用时见下方表格）', 'aria-describedby': 'coverage-map-hint' });
  const outside = h('section', { class: 'card', id: 'coverage-outside' });
  const byTown = h('section', { class: 'card', id: 'coverage-towns' });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, '10分钟服务圈'), h('p', { class: 'page-sub' }, '每个村到最近一个提供该服务的站点要多久：岛内步行或乘车，跨岛按渡轮班次（提前 10 分钟到码头）。')),
    form,
    kpis,
    h('section', { class: 'card' }, h('h2', null, '分布图'), mapBox, h('p', { class: 'hint', id: 'coverage-map-hint' }, '灰点：提供该服务的站点；彩色圆：各乡镇，越绿覆盖越好；红点：10 分钟内到不了的村。')),
    outside,
    byTown,
  );
  let r;
  try {
    r = await get(withQuery('/api/v1/coverage', { service: svc, at }), { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(kpis, notice('error', e.message));
    return;
  }
  if (ctx.signal.aborted) return;
  const islandName = (id) => ((islands.items || []).find((i) => i.id === id) || {}).name || id;
  const kpi = (label, value) => h('div', { class: 'kpi' }, h('span', { class: 'kpi-value' }, value), h('span', { class: 'kpi-label' }, label));
  replace(
    kpis,
    kpi('10分钟内覆盖人口', pct(r.share_within_10min)),
    kpi('覆盖的村（社区）', `${r.villages_within}/${r.villages}`),
    kpi('提供服务的站点', String(r.stations)),
    kpi('出发', r.depart.slice(11)),
  );
  const vo = r.villages_outside || [];
  replace(
    outside,
    h('h2', null, `10分钟内到不了的村（${vo.length}）`),
    vo.length
      ? h(
          'div',
          // A keyboard user must be able to focus a table that scrolls sideways on a phone.
          { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': '10分钟内到不了的村' },
          h(
            'table',
            { class: 'table', id: 'coverage-outside-table' },
            h('thead', null, h('tr', null, ['村（社区）', '乡镇', '岛屿', '最快用时', '最近站点'].map((x) => h('th', { scope: 'col' }, x)))),
            h('tbody', null, vo.map((v) => h('tr', { dataset: { code: v.code } }, h('td', null, v.name), h('td', null, v.town), h('td', null, islandName(v.island)), h('td', null, v.minutes === null ? '无定班船' : `${v.minutes} 分钟`), h('td', null, v.station_name || '—')))),
          ),
        )
      : h('p', { class: 'muted' }, '所有村都在 10 分钟服务圈内。'),
  );
  replace(
    byTown,
    h('h2', null, '各乡镇'),
    h(
      'div',
      { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': '各乡镇服务圈覆盖' },
      h(
        'table',
        { class: 'table', id: 'coverage-towns-table' },
        h('thead', null, h('tr', null, ['乡镇', '村（社区）', '覆盖人口', '最长用时'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, (r.towns || []).map((t) => h('tr', null, h('td', null, t.name), h('td', null, `${t.villages_within}/${t.villages}`), h('td', null, pct(t.share_within_10min)), h('td', null, t.max_minutes === null ? '—' : `${t.max_minutes} 分钟`)))),
      ),
    ),
  );

  let echarts;
  try {
    echarts = await loadECharts();
  } catch (e) {
    replace(mapBox, notice('error', e.message));
    return;
  }
  if (ctx.signal.aborted) return;
  const townPos = new Map((towns.items || []).map((t) => [t.code, t]));
  const islandPos = new Map((islands.items || []).flatMap((i) => [[i.id, i], [i.name, i]]));
  const st = (stations.items || []).filter((s) => !kinds.size || kinds.has(s.kind)).map((s) => ({ name: s.name, value: [s.lon, s.lat] }));
  const tw = (r.towns || []).filter((t) => townPos.has(t.code)).map((t) => ({ name: t.name, value: [townPos.get(t.code).lon, townPos.get(t.code).lat, t.share_within_10min ?? 0] }));
  // Villages have no coordinates of their own here: they sit at their island, spread a little.
  const vx = vo.map((v, i) => {
    const isl = islandPos.get(v.island);
    if (!isl) return null;
    const a = (i * 2.399) % (2 * Math.PI);
    return { name: `${v.name}（${v.minutes === null ? '无定班船' : `${v.minutes} 分钟`}）`, value: [isl.lon + 0.01 * Math.cos(a), isl.lat + 0.01 * Math.sin(a)] };
  }).filter(Boolean);
  const chart = echarts.init(mapBox);
  ctx.signal.addEventListener('abort', () => chart.dispose());
  chart.setOption({
    animation: false,
    grid: { left: 40, right: 16, top: 24, bottom: 32 },
    legend: { top: 0, data: ['站点', '乡镇', '未覆盖的村'] },
    tooltip: { formatter: (p) => (p.seriesName === '乡镇' ? `${p.name}：${pct(p.value[2])}` : p.name) },
    xAxis: { type: 'value', scale: true, name: '经度' },
    yAxis: { type: 'value', scale: true, name: '纬度' },
    visualMap: { show: false, seriesIndex: 1, dimension: 2, min: 0.5, max: 1, inRange: { color: ['#b42318', '#f0a500', '#17754a'] } },
    series: [
      { name: '站点', type: 'scatter', data: st, symbolSize: 4, itemStyle: { color: '#7b8794' } },
      { name: '乡镇', type: 'scatter', data: tw, symbolSize: 16, label: { show: true, formatter: (p) => p.name, position: 'right', fontSize: 10 } },
      { name: '未覆盖的村', type: 'scatter', data: vx, symbolSize: 9, itemStyle: { color: '#b42318' } },
    ],
  });
}
