/* /me/assist — 我的帮办: the caller's assisted requests (GET /api/v1/assist: a
 * resident gets their own, staff those they may see), newest first, each with
 * its status, agent and the time the agent can be there; a button books a new
 * one. Open requests refresh every 20 seconds. */
import { get, withQuery } from '../api.js';
import { fmtShort, placeText, statusBadge } from '../assist.js';
import { h, notice, replace } from '../dom.js';

const REFRESH_MS = 20000;

export async function render(main, ctx) {
  ctx.setTitle('我的帮办');
  const status = ['open', 'closed'].includes(ctx.params.get('status')) ? ctx.params.get('status') : '';
  const box = h('div', { class: 'assist-list-box' }, h('p', { class: 'loading' }, '正在加载…'));
  const tab = (s, label) => h('li', null, h('a', { class: 'tab', href: withQuery('/me/assist', { status: s }), 'aria-current': s === status ? 'page' : null }, label));
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '我的帮办'), h('p', { class: 'page-sub' }, '帮办代办员上门或在网上为您办事，您不用坐船进城。')),
      h('a', { class: 'btn btn-primary', href: '/assist/new', id: 'assist-new-link' }, '帮我办'),
    ),
    h('nav', { class: 'tabs', 'aria-label': '分类' }, h('ul', null, tab('', '全部'), tab('open', '进行中'), tab('closed', '已结束'))),
    box,
  );
  let timer = 0;
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));

  async function load() {
    let r;
    try {
      r = await get(withQuery('/api/v1/assist', { status, limit: 50 }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(box, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = r.items || [];
    if (!items.length) {
      replace(box, h('div', { class: 'empty' }, h('p', null, '还没有帮办预约。'), h('p', null, h('a', { href: '/assist/new' }, '点这里预约帮办代办'), '，代办员会联系您。')));
      return;
    }
    replace(
      box,
      h(
        'ul',
        { class: 'assist-cards', id: 'assist-list' },
        items.map((it) =>
          h(
            'li',
            { class: 'card assist-card', dataset: { id: it.id, status: it.status } },
            h('a', { class: 'assist-card-link', href: `/assist/${it.id}` }, h('strong', null, it.item_name || '帮办代办'), ' ', statusBadge(it.status, it.status_label)),
            h('p', { class: 'muted' }, `${it.request_no} · ${placeText(it)}`),
            it.agent ? h('p', null, `代办员：${it.agent.name}`) : h('p', { class: 'muted' }, '正在安排代办员'),
            h('p', { class: 'muted' }, `提交于 ${fmtShort(it.created_at)}`),
          ),
        ),
      ),
    );
    if (items.some((it) => it.status !== 'done' && it.status !== 'cancelled')) timer = setTimeout(load, REFRESH_MS);
  }
  await load();
}
