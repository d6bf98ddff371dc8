/* dash.js — shared parts of the 数智分析 pages (/dash, /dash/services, /dash/alerts,
 * /dash/trading, /open/trading): loading the vendored ECharts once, a chart card with
 * its "下载 PNG" button, KPI tiles with target and met/missed, number formatting,
 * and the live refresh over SSE (topic "dash", event "changed"). */
import { h, replace } from './dom.js';

let echartsLoading = null;
/** Load the vendored ECharts once (a classic script defining window.echarts). */
export function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  if (!echartsLoading) {
    echartsLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/echarts.min.js';
      s.onload = () => resolve(window.echarts);
      s.onerror = () => {
        echartsLoading = null;
        reject(new Error('ECharts 加载失败'));
      };
      document.head.appendChild(s);
    });
  }
  return echartsLoading;
}

/** "95.67" → "95.67"; integers without decimals; null → "—". */
export function fmtNum(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('zh-CN');
  return v.toLocaleString('zh-CN', { maximumFractionDigits: digits });
}

/** A value with its unit: "95.67%", "2.85 工作日", "—". */
export function fmtUnit(v, unit) {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'number') return String(v);
  if (unit === '%') return `${fmtNum(v)}%`;
  return unit ? `${fmtNum(v)} ${unit}` : fmtNum(v);
}

/** "≥ 90%" / "≤ 3 工作日" from a direction ("higher" | "lower" | +1 | -1). */
export function targetText(target, unit, direction) {
  if (target === null || target === undefined) return '';
  const higher = direction === 'higher' || direction === 1 || direction === '1';
  return `${higher ? '≥' : '≤'} ${fmtUnit(target, unit)}`;
}

/** "HH:MM:SS" in Shanghai time. */
export function clock(d = new Date()) {
  return d.toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
}

/** "2026-11-28 15:04" (Shanghai) from an ISO instant. */
export function fmtWhen(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
  }).formatToParts(d);
  const g = (t) => (p.find((x) => x.type === t) || {}).value || '';
  return `${g('year')}-${g('month')}-${g('day')} ${g('hour')}:${g('minute')}`;
}

/**
 * A KPI tile. opts: {id, label, value, unit, target, direction, met, note, href}.
 * met true/false adds 达标/未达标; null leaves it out.
 */
export function kpiTile(o) {
  const state = o.met === true ? 'dash-kpi-met' : o.met === false ? 'dash-kpi-missed' : '';
  const body = [
    h('span', { class: 'dash-kpi-label' }, o.label),
    h('span', { class: 'dash-kpi-value' }, fmtUnit(o.value, o.unit)),
    o.target !== undefined && o.target !== null
      ? h(
          'span',
          { class: 'dash-kpi-target' },
          `目标 ${targetText(o.target, o.unit, o.direction)}`,
          o.met === true ? h('span', { class: 'dash-badge dash-badge-ok' }, '达标') : null,
          o.met === false ? h('span', { class: 'dash-badge dash-badge-bad' }, '未达标') : null,
        )
      : null,
    o.note ? h('span', { class: 'dash-kpi-note' }, o.note) : null,
  ];
  const attrs = { class: ['dash-kpi', state], id: o.id || null, dataset: o.key ? { key: o.key } : undefined };
  return o.href ? h('a', { ...attrs, href: o.href, class: ['dash-kpi', 'dash-kpi-link', state] }, body) : h('div', attrs, body);
}

/**
 * A card holding one chart and its "下载 PNG" button. Returns {card, box, draw(fn)}:
 * draw(echarts => option) (re)initialises the chart and sets the option; the chart
 * is disposed when the page's signal aborts. opts: {id, title, label (aria), file,
 * size: 's' | 'm' | 'l', hint, describe (option → text for screen readers; default
 * chartText)}.
 */
export function chartCard(ctx, o) {
  // The canvas says nothing to a screen reader: the box is an image named by the
  // title, described by a visually-hidden text of the drawn figures (set by draw()).
  const desc = h('p', { class: 'visually-hidden', id: `${o.id}-desc` });
  const box = h('div', { class: ['dash-chart', o.size ? `dash-chart-${o.size}` : ''], id: o.id, role: 'img', 'aria-label': o.label || o.title, 'aria-describedby': desc.id });
  let chart = null;
  let theme = null;
  const btn = h(
    'button',
    { type: 'button', class: 'btn btn-ghost btn-small dash-png', id: `${o.id}-png`, disabled: true, on: { click: download } },
    '下载 PNG',
  );
  const card = h(
    'section',
    { class: 'card dash-card' },
    h('div', { class: 'dash-card-head' }, h('h2', null, o.title), btn),
    box,
    desc,
    o.hint ? h('p', { class: 'hint' }, o.hint) : null,
  );
  function download() {
    if (!chart) return;
    const dark = theme === 'dark';
    const url = chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: dark ? '#0b1a2b' : '#ffffff' });
    const a = h('a', { href: url, download: `${o.file || o.id}.png`, class: 'visually-hidden' }, '下载');
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  const onResize = () => chart && chart.resize();
  window.addEventListener('resize', onResize);
  ctx.signal.addEventListener('abort', () => {
    window.removeEventListener('resize', onResize);
    if (chart) chart.dispose();
    chart = null;
  });
  return {
    card,
    box,
    get chart() {
      return chart;
    },
    /** Draw: option = build(echarts). newTheme: null | 'dark' (re-inits on change). */
    async draw(build, newTheme = null) {
      let echarts;
      try {
        echarts = await loadECharts();
      } catch (e) {
        replace(box, h('p', { class: 'notice notice-error' }, e.message));
        return null;
      }
      if (ctx.signal.aborted) return null;
      if (chart && theme !== newTheme) {
        chart.dispose();
        chart = null;
      }
      if (!chart) {
        chart = echarts.init(box, newTheme, { renderer: 'canvas' });
        theme = newTheme;
      }
      const opt = build(echarts);
      if (newTheme === 'dark') opt.backgroundColor = 'transparent';
      chart.setOption(opt, true);
      desc.textContent = (o.describe || chartText)(opt);
      btn.disabled = false;
      return chart;
    },
  };
}

const asList = (x) => (Array.isArray(x) ? x : x ? [x] : []);

/** One value as text: numbers in zh-CN grouping, empty as 无数据. */
function valText(v) {
  if (v && typeof v === 'object' && !Array.isArray(v)) v = v.value;
  if (Array.isArray(v)) return v.map(valText).join(' / ');
  if (v === null || v === undefined || v === '' || v === '-') return '无数据';
  return typeof v === 'number' ? v.toLocaleString('zh-CN', { maximumFractionDigits: 2 }) : String(v);
}

/**
 * The figures of an ECharts option as one sentence per series ("办件量（件）：24-01
 * 120，24-02 98；…") for screen readers: category axis labels with each value,
 * pie slices and named points with theirs; at most 60 entries per series.
 */
export function chartText(opt) {
  const axes = [...asList(opt.xAxis), ...asList(opt.yAxis)];
  const cats = (axes.find((a) => a.type === 'category' && Array.isArray(a.data)) || {}).data || [];
  const yAxes = asList(opt.yAxis);
  const parts = asList(opt.series).map((se) => {
    const unitAxis = yAxes[se.yAxisIndex || 0];
    const unit = unitAxis && unitAxis.type === 'value' && unitAxis.name ? `（${unitAxis.name}）` : '';
    const data = asList(se.data);
    const items = data.slice(0, 60).map((d, i) => {
      const name = d && typeof d === 'object' && d.name !== undefined ? d.name : cats[i];
      return name !== undefined ? `${name} ${valText(d)}` : valText(d);
    });
    const more = data.length > 60 ? `，等共 ${data.length} 项` : '';
    return `${se.name ? `${se.name}${unit}：` : ''}${items.join('，') || '无数据'}${more}`;
  });
  return parts.length ? `图表数据。${parts.join('；')}。` : '暂无图表数据。';
}

/**
 * Live refresh: subscribe to the "dash" SSE topic and call refresh() at most once per
 * `debounceMs` after a "changed" event. Returns nothing; closes with ctx.signal.
 */
export function liveDash(ctx, refresh, debounceMs = 1500) {
  if (typeof EventSource === 'undefined') return;
  const es = new EventSource('/api/v1/events/dash');
  let timer = 0;
  es.addEventListener('changed', () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = 0;
      if (!ctx.signal.aborted) refresh();
    }, debounceMs);
  });
  ctx.signal.addEventListener('abort', () => {
    clearTimeout(timer);
    es.close();
  });
}

/** The window picker (from/to dates) as a small GET form; onSubmit({from, to}). */
export function windowForm(win, onSubmit) {
  const from = h('input', { type: 'date', name: 'from', id: 'dash-from', value: (win && win.from) || '' });
  const to = h('input', { type: 'date', name: 'to', id: 'dash-to', value: (win && win.to) || '' });
  return h(
    'form',
    {
      class: 'dash-window',
      id: 'dash-window',
      on: {
        submit: (e) => {
          e.preventDefault();
          onSubmit({ from: from.value, to: to.value });
        },
      },
    },
    h('label', { for: 'dash-from' }, '起'),
    from,
    h('label', { for: 'dash-to' }, '止'),
    to,
    h('button', { type: 'submit', class: 'btn btn-secondary btn-small' }, '查询'),
  );
}

/** Trading figures are given in 亿元 by stats; the smaller ones read better in 万元. */
export function fenToWan(fen) {
  if (fen === null || fen === undefined) return '—';
  return `${fmtNum(fen / 1e6, 2)} 万元`;
}

/** Colours shared by the charts. */
export const COLORS = ['#0b5394', '#0f7f76', '#f0a500', '#b42318', '#6a51a3', '#3e4c59', '#2b8cbe'];
