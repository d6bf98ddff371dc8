/* /dash — 数智分析 · 全市总览 (大屏).
 *
 * Everything comes from GET /api/v1/dash/overview (src/dash/overview.c): the headline
 * 一网通办 indicators with their targets (达标/未达标), coverage of the 10-minute
 * service circle, 帮办代办, 证明, the catalog's scope counts, the trading headline, and
 * four charts — the monthly trend, channels, the towns on their coordinates (click a
 * town to drill into it) and trading amounts by kind — each with "下载 PNG". The page
 * refreshes itself (debounced) when the server's dashboard tick announces a change on
 * the SSE topic "dash", and says when it last did. 大屏 switches to a dark full-screen
 * layout for the wall display. */
import { get } from '../api.js';
import { h, notice, replace } from '../dom.js';
import { COLORS, chartCard, clock, fmtNum, fmtUnit, kpiTile, liveDash } from '../dash.js';

const SERVICE_KPIS = ['online_rate', 'material_waiver_rate', 'instant_rate', 'zero_visit_rate', 'avg_working_days', 'rating_avg', 'overdue_count'];
const TRADE_KPIS = ['trade.projects', 'trade.amount', 'trade.savings_rate', 'trade.remote_rate', 'trade.e_rate', 'trade.ca_rate'];

export async function render(main, ctx) {
  ctx.setTitle('数智分析 · 全市总览');
  const root = h('div', { class: 'dash', id: 'dash-root' });
  const stamp = h('span', { class: 'dash-stamp', id: 'dash-stamp', role: 'status', 'aria-live': 'polite' }, '加载中…');
  const alertsLink = h('a', { class: 'btn btn-ghost dash-alerts-link', id: 'dash-alerts-link', href: '/dash/alerts' }, '无感监测');
  const bigBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'dash-big', 'aria-pressed': 'false', on: { click: toggleBig } }, '大屏');
  const windowText = h('p', { class: 'page-sub', id: 'dash-window-text' });
  const sentence = h('p', { class: 'dash-sentence', id: 'dash-sentence' });
  const svcKpis = h('div', { class: 'dash-kpis', id: 'dash-kpis' });
  const moreKpis = h('div', { class: 'dash-kpis', id: 'dash-more' });
  const tradeKpis = h('div', { class: 'dash-kpis', id: 'dash-trade-kpis' });
  const errBox = h('div');
  const trend = chartCard(ctx, { id: 'dash-trend', title: '月度办件与一网通办率', file: 'isle-trend', size: 'm' });
  const channels = chartCard(ctx, { id: 'dash-channels', title: '申请渠道', file: 'isle-channels', size: 'm' });
  const towns = chartCard(ctx, {
    id: 'dash-towns',
    title: '乡镇（街道）分布',
    file: 'isle-towns',
    size: 'l',
    label: '各乡镇（街道）按经纬度分布，颜色表示一网通办率',
    hint: '点的位置为乡镇（街道）经纬度，大小为办件量，颜色为一网通办率（红色低于 90%）。点击乡镇查看明细。',
    // value is [lon, lat, submitted, rate]: read out the last two, not the coordinates.
    describe: (opt) =>
      `各乡镇（街道）办件量与一网通办率：${((opt.series[0] && opt.series[0].data) || [])
        .map((d) => `${d.name} ${fmtNum(d.value[2], 0)} 件，${d.value[3] === null ? '无数据' : `${fmtNum(d.value[3])}%`}`)
        .join('；')}。`,
  });
  const trading = chartCard(ctx, { id: 'dash-trading', title: '交易金额（按类别）', file: 'isle-trading-kinds', size: 'm' });

  const year = new Date().getFullYear();
  replace(main, root);
  replace(
    root,
    h(
      'div',
      { class: 'page-head page-head-row dash-head' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '数智分析 · 全市总览'), windowText),
      h(
        'div',
        { class: 'dash-actions' },
        stamp,
        alertsLink,
        h('a', { class: 'btn btn-ghost', href: '/dash/services', id: 'dash-drill-link' }, '办件明细'),
        h('a', { class: 'btn btn-ghost', href: '/dash/trading' }, '交易分析'),
        h('a', { class: 'btn btn-ghost', href: `/api/v1/dash/report.pdf?year=${year}`, download: `isle-report-${year}.pdf` }, '数说报告'),
        bigBtn,
      ),
    ),
    errBox,
    h('section', { class: 'dash-section', 'aria-labelledby': 'dash-h-services' }, h('h2', { id: 'dash-h-services', class: 'dash-h2' }, '政务服务'), svcKpis, moreKpis),
    h('div', { class: 'dash-grid' }, trend.card, channels.card),
    towns.card,
    h('section', { class: 'dash-section', 'aria-labelledby': 'dash-h-trade' }, h('h2', { id: 'dash-h-trade', class: 'dash-h2' }, '公共资源交易'), sentence, tradeKpis),
    trading.card,
  );

  let data = null;
  let big = false;

  function toggleBig() {
    big = !big;
    root.classList.toggle('dash-big', big);
    document.documentElement.classList.toggle('dash-bigscreen', big);
    bigBtn.setAttribute('aria-pressed', big ? 'true' : 'false');
    bigBtn.textContent = big ? '退出大屏' : '大屏';
    if (big && root.requestFullscreen) root.requestFullscreen().catch(() => {});
    else if (!big && document.fullscreenElement) document.exitFullscreen().catch(() => {});
    if (data) drawCharts(data);
  }
  const onFs = () => {
    if (!document.fullscreenElement && big) toggleBig();
  };
  document.addEventListener('fullscreenchange', onFs);
  ctx.signal.addEventListener('abort', () => {
    document.removeEventListener('fullscreenchange', onFs);
    document.documentElement.classList.remove('dash-bigscreen');
  });

  async function load() {
    let o;
    try {
      o = await get('/api/v1/dash/overview', { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(errBox, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    replace(errBox);
    data = o;
    show(o);
    await drawCharts(o);
    stamp.textContent = `已更新 ${clock()}`;
  }

  function show(o) {
    windowText.textContent = `统计期 ${o.window.from} 至 ${o.window.to}（上海时间，含首尾）`;
    const ind = new Map((o.services.indicators || []).map((i) => [i.id, i]));
    const legal = ind.get('legal_days_avg');
    const saving = ind.get('time_saving_rate');
    const closure = ind.get('bad_closure_rate');
    const notes = {
      online_rate: (i) => `${fmtNum(i.numerator)} / ${fmtNum(i.denominator)} 件`,
      material_waiver_rate: (i) => `免提交 ${fmtNum(i.numerator)} / ${fmtNum(i.denominator)} 份材料`,
      instant_rate: (i) => `当日办结 ${fmtNum(i.numerator)} / ${fmtNum(i.denominator)} 件`,
      zero_visit_rate: (i) => `${fmtNum(i.numerator)} / ${fmtNum(i.denominator)} 件无需到现场`,
      avg_working_days: () => (legal ? `法定平均 ${fmtUnit(legal.value, legal.unit)}${saving && saving.value !== null ? `，压缩 ${fmtUnit(saving.value, '%')}` : ''}` : ''),
      rating_avg: (i) => `${fmtNum(i.denominator)} 条评价${closure && closure.value !== null ? `，差评整改办结 ${fmtUnit(closure.value, '%')}` : ''}`,
      overdue_count: (i) => `有时限办件 ${fmtNum(i.denominator)} 件`,
    };
    replace(
      svcKpis,
      SERVICE_KPIS.filter((id) => ind.has(id)).map((id) => {
        const i = ind.get(id);
        return kpiTile({
          key: id,
          label: i.name,
          value: i.value,
          unit: i.unit,
          target: i.target,
          direction: i.direction,
          met: i.met,
          note: notes[id] ? notes[id](i) : '',
          href: id === 'overdue_count' ? '/work/queue?due=overdue' : null,
        });
      }),
    );
    const cov = o.coverage || {};
    const as = o.assist || {};
    const pf = o.proofs || {};
    const cat = o.catalog || {};
    const openAlerts = (o.alerts && o.alerts.open) || 0;
    alertsLink.textContent = openAlerts ? `无感监测（${openAlerts} 条预警）` : '无感监测';
    alertsLink.classList.toggle('dash-alerts-open', openAlerts > 0);
    replace(
      moreKpis,
      kpiTile({
        key: 'circle',
        label: '10分钟服务圈',
        value: cov.share_within_10min === null || cov.share_within_10min === undefined ? null : Math.round(cov.share_within_10min * 10000) / 100,
        unit: '%',
        note: `${fmtNum(cov.villages_within)} / ${fmtNum(cov.villages)} 个村（社区）10 分钟内可达${cov.service ? `（${cov.service}）` : ''}`,
      }),
      kpiTile({
        key: 'assist',
        label: '帮办代办',
        value: as.requests ?? 0,
        unit: '件',
        note: `已办结 ${fmtNum(as.done ?? 0)} 件，进行中 ${fmtNum(as.open ?? 0)} 件${as.avg_minutes_to_accept !== null && as.avg_minutes_to_accept !== undefined ? `，平均 ${fmtNum(as.avg_minutes_to_accept, 1)} 分钟接单` : ''}`,
      }),
      kpiTile({ key: 'proofs', label: '证明开具', value: pf.issued ?? 0, unit: '份', note: `申请 ${fmtNum(pf.requested ?? 0)} 份` }),
      kpiTile({
        key: 'catalog',
        label: '事项目录',
        value: cat.items ?? 0,
        unit: '项',
        note: `跨省通办 ${fmtNum(cat.cross_province)} · 全省通办 ${fmtNum(cat.province)} · 甬舟通办 ${fmtNum(cat.yongzhou)} · 秒办 ${fmtNum(cat.instant)} · 一件事 ${fmtNum(cat.bundles)}`,
      }),
      kpiTile({ key: 'alerts', id: 'dash-kpi-alerts', label: '无感监测预警', value: openAlerts, unit: '条', met: openAlerts === 0, note: openAlerts ? '点击查看未处理预警' : '各乡镇、部门指标均在目标内', href: '/dash/alerts' }),
    );
    const t = o.trading;
    if (t && t.indicators) {
      sentence.textContent = t.sentence || '';
      replace(
        tradeKpis,
        TRADE_KPIS.filter((id) => t.indicators[id]).map((id) => {
          const i = t.indicators[id];
          return kpiTile({ key: id, label: i.name, value: i.value, unit: i.unit, target: i.target, direction: i.direction, met: null, href: '/dash/trading' });
        }),
      );
    } else {
      sentence.textContent = '';
      replace(tradeKpis, h('p', { class: 'muted' }, '暂无交易数据。'));
    }
  }

  function textColor() {
    return big ? '#e6eef7' : '#3e4c59';
  }

  async function drawCharts(o) {
    const theme = big ? 'dark' : null;
    const trendData = o.trend || [];
    await trend.draw(
      () => ({
        animation: false,
        color: COLORS,
        tooltip: { trigger: 'axis' },
        legend: { top: 0, data: ['办件量', '一网通办率'], textStyle: { color: textColor() } },
        grid: { left: 48, right: 48, top: 36, bottom: 32 },
        xAxis: { type: 'category', data: trendData.map((m) => m.month.slice(2)) },
        yAxis: [
          { type: 'value', name: '件', minInterval: 1 },
          { type: 'value', name: '%', min: (v) => Math.max(0, Math.floor(Math.min(v.min, 90) / 10) * 10), max: 100, splitLine: { show: false } },
        ],
        series: [
          { name: '办件量', type: 'bar', data: trendData.map((m) => m.submitted), barMaxWidth: 28 },
          {
            name: '一网通办率',
            type: 'line',
            yAxisIndex: 1,
            data: trendData.map((m) => m.online_rate),
            itemStyle: { color: '#f0a500' },
            markLine: { silent: true, symbol: 'none', lineStyle: { color: '#b42318', type: 'dashed' }, label: { formatter: '目标 90%', position: 'insideEndTop' }, data: [{ yAxis: 90 }] },
          },
        ],
      }),
      theme,
    );
    await channels.draw(
      () => ({
        animation: false,
        color: COLORS,
        tooltip: { trigger: 'item', formatter: '{b}：{c} 件（{d}%）' },
        legend: { bottom: 0, textStyle: { color: textColor() } },
        series: [
          {
            type: 'pie',
            radius: ['35%', '62%'],
            center: ['50%', '45%'],
            label: { formatter: '{b}\n{d}%', color: textColor() },
            data: (o.channels || []).map((c) => ({ name: c.name, value: c.cases })),
          },
        ],
      }),
      theme,
    );
    const pts = (o.towns || []).filter((t) => Number.isFinite(t.lon) && Number.isFinite(t.lat));
    const maxSub = Math.max(1, ...pts.map((t) => t.submitted || 0));
    const chart = await towns.draw(
      () => ({
        animation: false,
        tooltip: {
          formatter: (p) => `${p.data.name}（${p.data.county}）<br>办件 ${p.data.value[2]} 件<br>一网通办率 ${p.data.value[3] === null ? '—' : `${p.data.value[3]}%`}`,
        },
        grid: { left: 48, right: 24, top: 16, bottom: 40 },
        xAxis: { type: 'value', scale: true, name: '经度', nameLocation: 'middle', nameGap: 24, axisLabel: { formatter: (v) => v.toFixed(1) } },
        yAxis: { type: 'value', scale: true, name: '纬度', axisLabel: { formatter: (v) => v.toFixed(1) } },
        visualMap: {
          type: 'piecewise',
          dimension: 3,
          orient: 'horizontal',
          top: 0,
          right: 0,
          textStyle: { color: textColor() },
          pieces: [
            { lt: 90, label: '< 90%', color: '#b42318' },
            { gte: 90, lt: 95, label: '90–95%', color: '#f0a500' },
            { gte: 95, label: '≥ 95%', color: '#0f7f76' },
          ],
          outOfRange: { color: '#9aa5b1' },
        },
        series: [
          {
            type: 'scatter',
            cursor: 'pointer',
            data: pts.map((t) => ({ name: t.name, code: t.code, county: t.county, value: [t.lon, t.lat, t.submitted || 0, t.online_rate] })),
            symbolSize: (v) => 8 + Math.round(22 * Math.sqrt((v[2] || 0) / maxSub)),
            label: { show: true, position: 'right', fontSize: 11, color: textColor(), formatter: (p) => (p.data.value[2] >= maxSub / 3 ? p.data.name : '') },
          },
        ],
      }),
      theme,
    );
    if (chart) {
      chart.off('click');
      chart.on('click', (p) => {
        if (p.data && p.data.code) ctx.navigate(`/dash/services?level=town&town=${encodeURIComponent(p.data.code)}`);
      });
    }
    const kinds = (o.trading && o.trading.by_kind) || [];
    await trading.draw(
      () => ({
        animation: false,
        color: COLORS,
        tooltip: { trigger: 'axis' },
        grid: { left: 56, right: 16, top: 24, bottom: 40 },
        xAxis: { type: 'category', data: kinds.map((k) => k.name), axisLabel: { interval: 0, rotate: kinds.length > 4 ? 30 : 0 } },
        yAxis: { type: 'value', name: '亿元' },
        series: [{ name: '交易金额', type: 'bar', barMaxWidth: 40, data: kinds.map((k) => k.amount), label: { show: true, position: 'top', color: textColor() } }],
      }),
      theme,
    );
  }

  liveDash(ctx, load);
  await load();
}
