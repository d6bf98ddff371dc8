/* /trade/expert — 评标任务 (GET /api/v1/trade/evaluations). An expert sees the
 * tenders it was drawn for (the panel is sealed: nobody else sees this list) with
 * whether its scores are in; trading staff and supervisors see the tenders in
 * evaluation or publicity with the panel's progress. Each links to the scoring /
 * management page /trade/tenders/{id}/evaluate. */
import { get } from '../api.js';
import { fmtDateTime, h, notice, replace } from '../dom.js';
import { useCss } from './trade-evaluate.js';

export async function render(main, ctx) {
  useCss('/css/evaluate.css');
  ctx.setTitle('评标任务');
  replace(main, h('p', { class: 'loading' }, '正在加载…'));
  let r;
  try {
    r = await get('/api/v1/trade/evaluations', { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(main, h('h1', { class: 'page-title', tabindex: '-1' }, '评标任务'), notice('error', e.message));
    return;
  }
  if (ctx.signal.aborted) return;
  const expert = r.role === 'expert';
  const sub = expert
    ? r.expert ? `${r.expert.name}${r.expert.employer ? ` · ${r.expert.employer}` : ''}` : '您的账号尚未登记为评标专家，请联系交易中心。'
    : '评标中、公示中及近期定标的项目';
  const items = r.items || [];
  const todo = expert ? items.filter((x) => x.status === 'evaluation' && !x.submitted && !x.report) : [];
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, '评标任务'), h('p', { class: 'page-sub' }, sub)),
    expert && todo.length ? notice('warn', `您有 ${todo.length} 个项目待评分。`) : null,
    items.length
      ? h('ul', { class: 'ev-tasks', id: 'ev-tasks' }, items.map((x) => card(x, expert)))
      : h('div', { class: 'empty-state' }, h('p', { class: 'empty-title' }, expert ? '暂无评标任务。' : '暂无评标中的项目。'), expert ? h('p', { class: 'muted' }, '被抽取为评标专家后，项目会出现在这里。') : null),
  );
}

function card(x, expert) {
  let state;
  if (expert) {
    if (x.report) state = h('span', { class: 'ev-chip ev-chip-done' }, '已出评标报告');
    else if (x.submitted) state = h('span', { class: 'ev-chip ev-chip-done' }, '已提交');
    else if (x.status === 'evaluation') state = h('span', { class: 'ev-chip ev-chip-todo' }, '待评分');
    else state = h('span', { class: 'ev-chip' }, x.status_label);
  } else {
    state = h('span', { class: 'ev-chip' }, x.panel ? `专家 ${x.submitted}/${x.panel} 已提交` : '未抽取专家');
  }
  return h(
    'li',
    { class: 'card ev-task', dataset: { id: String(x.id), status: x.status } },
    h('a', { class: 'ev-task-link', href: `/trade/tenders/${x.id}/evaluate` }, h('strong', null, x.title)),
    h('p', { class: 'muted' }, `${x.tender_no} · ${x.kind_label} · ${x.method_label}`),
    h('p', { class: 'ev-task-state' }, h('span', { class: `ev-status ev-status-${x.status}` }, x.status_label), ' ', state, expert && x.chair ? h('span', { class: 'ev-chip' }, '组长') : null),
    expert && x.drawn_at ? h('p', { class: 'muted small' }, `抽取时间 ${fmtDateTime(x.drawn_at)}`) : null,
  );
}
