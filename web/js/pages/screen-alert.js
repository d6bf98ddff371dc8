/* /screen/alerts/{id} — one screening alert with its evidence, for supervisors:
 * the tender, the verdict and why, the bids (投标人A, B … with company and price),
 * each electronic trace with the item of 招标投标法实施条例 art. 40 it supports,
 * documents shared between bidders, the price screens and what drove the model's
 * score, and the bidders' co-bidding network (ECharts graph: who bid together in
 * how many tenders, who won how often). Triage: 排除 (reason required), 持续关注,
 * 立案 (opens an investigation case and goes there), 重新研判. */
import { get, post } from '../api.js';
import { askReason } from '../cases.js';
import { h, notice, replace } from '../dom.js';
import { reasonList, scoreBadge } from './screen-alerts.js';
import { loadECharts } from '../charts.js';

const SCREEN_NAMES = {
  n: '投标人数',
  cv: '变异系数 CV',
  spd: '价差比 SPD',
  diffp: '最低两家差距 DIFFP',
  skew: '偏度',
  kurt: '超额峰度',
  rd: '相对距离 RD',
  ks: 'KS 距离（均匀分布）',
};


const fmtNum = (v) => (v === null || v === undefined ? '不适用' : Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4));
const money = (v) => (v === null || v === undefined ? '—' : `¥${Number(v).toLocaleString('zh-CN', { minimumFractionDigits: 2 })}`);

export async function render(main, ctx) {
  ctx.setTitle('预警详情');
  const box = h('div', { class: 'screen-page' }, h('p', { class: 'loading' }, '正在加载…'));
  replace(main, box);
  let chart = null;
  ctx.signal.addEventListener('abort', () => chart && chart.dispose());

  async function load(flash) {
    let a;
    try {
      a = await get(`/api/v1/screen/alerts/${encodeURIComponent(ctx.route.id)}`, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(box, notice('error', e.status === 404 ? '预警不存在。' : `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    show(a, flash);
  }

  async function triage(a, action) {
    let reason = '';
    if (action === 'dismiss' || action === 'open_case') {
      const r = await askReason({
        host: document.body,
        title: action === 'dismiss' ? '排除预警' : '立案调查',
        label: action === 'dismiss' ? '排除理由（必填，将记入审计）' : '立案说明（选填，作为案件第一条记录）',
        required: action === 'dismiss',
        confirm: action === 'dismiss' ? '排除' : '立案',
        danger: action === 'dismiss',
      });
      if (r === null) return;
      reason = r;
    }
    try {
      const out = await post(`/api/v1/screen/alerts/${a.id}/triage`, { action, reason: reason || undefined, version: a.version });
      if (action === 'open_case' && out.case_id) {
        ctx.navigate(`/screen/cases/${out.case_id}?opened=1`);
        return;
      }
      await load({ dismiss: '已排除', watch: '已列入持续关注', reopen: '已重新研判' }[action]);
    } catch (e) {
      await load();
      replace(box.querySelector('#screen-flash'), notice('error', e.message));
    }
  }

  function show(a, flash) {
    const ev = a.evidence || {};
    const t = a.tender || {};
    const actions = [];
    if (['new', 'watch', 'clear'].includes(a.status)) {
      actions.push(h('button', { type: 'button', class: 'btn btn-primary', id: 'screen-open-case', on: { click: () => triage(a, 'open_case') } }, '立案调查'));
      if (a.status !== 'watch') actions.push(h('button', { type: 'button', class: 'btn btn-secondary', id: 'screen-watch', on: { click: () => triage(a, 'watch') } }, '持续关注'));
      if (a.status !== 'clear') actions.push(h('button', { type: 'button', class: 'btn btn-danger-ghost', id: 'screen-dismiss', on: { click: () => triage(a, 'dismiss') } }, '排除'));
    } else if (a.status === 'dismissed') {
      actions.push(h('button', { type: 'button', class: 'btn btn-secondary', id: 'screen-reopen', on: { click: () => triage(a, 'reopen') } }, '重新研判'));
    }
    if (a.case_id) actions.push(h('a', { class: 'btn btn-secondary', href: `/screen/cases/${a.case_id}` }, '查看案件'));
    const netBox = h('div', { class: 'screen-network', id: 'screen-network', role: 'img', 'aria-label': '投标人关联网络图', 'aria-describedby': 'screen-network-desc' });
    replace(
      box,
      h('nav', { class: 'breadcrumb', 'aria-label': '当前位置' }, h('ol', null, h('li', null, h('a', { href: '/screen' }, '防围串标')), h('li', { 'aria-current': 'page' }, t.tender_no))),
      h(
        'div',
        { class: 'page-head' },
        h('h1', { class: 'page-title', tabindex: '-1' }, t.title),
        h('p', { class: 'page-sub' }, `${t.tender_no} · ${t.kind_label} · ${t.status_label} · 采购人 ${t.buyer || ''}`, ' ', scoreBadge(a.score, a.hard), ' ', h('span', { class: 'badge', id: 'screen-status', dataset: { status: a.status } }, a.status_label)),
      ),
      h('div', { id: 'screen-flash', 'aria-live': 'polite' }, flash ? notice('ok', flash) : null),
      actions.length ? h('div', { class: 'screen-actions' }, actions) : null,
      a.triage_reason ? h('p', { class: 'muted' }, `研判意见：${a.triage_reason}`) : null,
      h('section', { class: 'card', id: 'screen-why' }, h('h2', null, '预警依据'), h('ul', { class: 'screen-reasons' }, reasonList(a.reasons).map((x) => h('li', null, x)))),
      h(
        'section',
        { class: 'card', id: 'screen-traces' },
        h('h2', null, `电子痕迹（${(ev.traces || []).length}）`),
        (ev.traces || []).length
          ? h(
              'div',
              { class: 'table-scroll' },
              h(
                'table',
                { class: 'table' },
                h('thead', null, h('tr', null, ['投标人', '投标人', '相同之处', '法律依据'].map((x) => h('th', { scope: 'col' }, x)))),
                h(
                  'tbody',
                  null,
                  ev.traces.map((tr) =>
                    h(
                      'tr',
                      { dataset: { kind: tr.kind } },
                      h('td', null, `${tr.a} ${tr.company_a}`),
                      h('td', null, `${tr.b} ${tr.company_b}`),
                      h('td', null, reasonList(`same ${tr.kind} across bidders (1) art.40${tr.article.slice(2)}`)[0].replace(/（.*$/, '')),
                      h('td', null, `招标投标法实施条例第四十条${tr.article.slice(2)}：${tr.article_text}`),
                    ),
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, '未发现不同投标人之间的电子痕迹。'),
        (ev.similar_documents || []).length
          ? h(
              'div',
              { id: 'screen-similar' },
              h('h3', null, '文件内容相似（已剔除招标文件原文）'),
              ev.similar_documents.map((p) =>
                h(
                  'div',
                  { class: 'screen-sim-pair' },
                  h('p', null, h('strong', null, `${p.a || ''}《${p.a_doc}》 与 ${p.b || ''}《${p.b_doc}》`), ` 相似度 ${Math.round((p.similarity || 0) * 100)}%`),
                  (p.passages || []).map((x) =>
                    h('div', { class: 'screen-sim-passages', dataset: { kind: x.kind || '' } }, h('blockquote', null, x.a_text), h('blockquote', null, x.b_text)),
                  ),
                ),
              ),
            )
          : null,
        (ev.shared_documents || []).length
          ? h('div', null, h('h3', null, '文件雷同'), h('ul', null, ev.shared_documents.map((d) => h('li', null, `${d.a}《${d.doc_a}》与 ${d.b}《${d.doc_b}》：${d.kind}`))))
          : null,
      ),
      h(
        'section',
        { class: 'card', id: 'screen-bids' },
        h('h2', null, `投标报价（${(ev.bids || []).length} 家）`),
        h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'table' },
            h('thead', null, h('tr', null, ['代号', '投标人', '报价', '结果'].map((x) => h('th', { scope: 'col' }, x)))),
            h('tbody', null, (ev.bids || []).map((b) => h('tr', null, h('td', null, b.ref), h('td', null, b.company), h('td', { class: 'num' }, money(b.price)), h('td', null, b.winner ? '中标' : '')))),
          ),
        ),
        h('p', { class: 'muted' }, `预算 ${money(t.budget)} · 中标价 ${money(t.award)}`),
      ),
      h(
        'section',
        { class: 'card', id: 'screen-screens' },
        h('h2', null, '价格筛查'),
        h('dl', { class: 'assist-dl' }, (ev.screens || []).flatMap((f) => [h('dt', null, SCREEN_NAMES[f.name] || f.name), h('dd', null, fmtNum(f.value))])),
        (ev.explanation || []).length
          ? h('div', null, h('h3', null, '模型评分的主要依据'), h('ul', null, ev.explanation.map((x) => h('li', null, `${x.feature} = ${fmtNum(x.value)}（贡献 +${x.contribution}）`))))
          : null,
        a.price_score !== null ? h('p', { class: 'muted' }, `仅凭报价的串标概率：${Math.round(a.price_score * 100)}%`) : null,
        ev.patterns && (ev.patterns.identical_pairs || ev.patterns.progression_len || ev.patterns.ratio_len)
          ? h('p', null, `报价规律：相同报价 ${ev.patterns.identical_pairs} 对，等差 ${ev.patterns.progression_len} 家，固定比例 ${ev.patterns.ratio_len} 家`)
          : null,
      ),
      h('section', { class: 'card' }, h('h2', null, '投标人关联网络'), netBox, netText(ev.network), h('p', { class: 'hint' }, '连线：两家在多少个项目中共同投标；圆点大小：中标次数。')),
    );
    drawNetwork(ev.network || { nodes: [], edges: [] }, netBox);
  }

  /** The network's pairs as text for screen readers (the graph is a canvas). */
  function netText(net) {
    const edges = (net && net.edges) || [];
    const named = new Map(((net && net.nodes) || []).map((n) => [n.ref, `${n.ref} ${n.name}`]));
    const pairs = edges.slice(0, 40).map((x) => `${named.get(x.a) || x.a} 与 ${named.get(x.b) || x.b} 共同投标 ${x.tenders} 个项目`);
    return h('p', { class: 'visually-hidden', id: 'screen-network-desc' }, pairs.length ? `${pairs.join('；')}。` : '无共同投标记录。');
  }

  async function drawNetwork(net, el) {
    if (!net.edges.length) {
      replace(el, h('p', { class: 'muted' }, '这些投标人在其他项目中没有共同投标记录。'));
      return;
    }
    let echarts;
    try {
      echarts = await loadECharts();
    } catch (e) {
      replace(el, notice('error', e.message));
      return;
    }
    if (ctx.signal.aborted) return;
    const used = new Set(net.edges.flatMap((x) => [x.a, x.b]));
    chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: { formatter: (p) => (p.dataType === 'edge' ? `共同投标 ${p.data.value} 个项目` : `${p.data.name}<br>投标 ${p.data.bids} 次，中标 ${p.data.wins} 次`) },
      series: [
        {
          type: 'graph',
          layout: 'force',
          roam: true,
          force: { repulsion: 220, edgeLength: [60, 160] },
          label: { show: true, formatter: (p) => p.data.ref, fontSize: 13 },
          data: net.nodes.filter((n) => used.has(n.ref)).map((n) => ({ id: n.ref, ref: n.ref, name: `${n.ref} ${n.name}`, bids: n.bids, wins: n.wins, symbolSize: 18 + Math.min(30, n.wins * 4) })),
          links: net.edges.map((x) => ({ source: x.a, target: x.b, value: x.tenders, lineStyle: { width: Math.min(8, 1 + x.tenders / 2) } })),
        },
      ],
    });
  }

  await load();
}
