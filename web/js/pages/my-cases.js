/* /me/cases — 我的办件: the caller's own applications (GET /api/v1/cases?mine=1),
 * newest first, by tab (all, under way, drafts, finished), each with its status,
 * deadline flag and a link to the case page; drafts can be continued. Above the
 * list, the latest in-app messages (GET /api/v1/me/notifications) when that API
 * answers. Tab and page live in the URL. */
import { get, post, withQuery } from '../api.js';
import { deadlineCell, dueClass, pager, statusBadge } from '../cases.js';
import { fmtDateTime, h, notice, pageTitle, replace } from '../dom.js';

const PAGE = 10;
const TABS = [
  { status: '', label: '全部' },
  { status: 'open', label: '办理中' },
  { status: 'draft', label: '草稿' },
  { status: 'closed', label: '已办结' },
];

export async function render(main, ctx) {
  ctx.setTitle('我的办件');
  const status = TABS.some((t) => t.status === ctx.params.get('status')) ? ctx.params.get('status') : '';
  const page = Math.max(1, parseInt(ctx.params.get('page') || '1', 10) || 1);
  const url = (p, s = status) => withQuery('/me/cases', { status: s, page: p > 1 ? p : '' });

  const box = h('div', { class: 'case-list-box' }, h('p', { class: 'loading' }, '正在加载办件…'));
  const inbox = h('div', { class: 'inbox-box' });
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '我的办件'), h('p', { class: 'page-sub' }, '您在网上、窗口或由帮办代办提交的申请及办理进度。')),
      h('a', { class: 'btn btn-primary', href: '/search' }, '办理新事项'),
    ),
    inbox,
    h(
      'nav',
      { class: 'tabs', 'aria-label': '办件分类' },
      h(
        'ul',
        null,
        TABS.map((t) => h('li', null, h('a', { class: 'tab', href: url(1, t.status), 'aria-current': t.status === status ? 'page' : null }, t.label))),
      ),
    ),
    box,
  );

  const listP = get(withQuery('/api/v1/cases', { mine: 1, status, limit: PAGE, offset: (page - 1) * PAGE }), { signal: ctx.signal });
  messages(inbox, ctx).catch(() => inbox.replaceChildren());
  let r;
  try {
    r = await listP;
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(box, notice('error', `办件加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  const items = (r && r.items) || [];
  const total = r && Number.isFinite(r.total) ? r.total : items.length;
  if (!items.length) {
    replace(
      box,
      h(
        'div',
        { class: 'empty-state', id: 'my-cases-empty' },
        h('p', { class: 'empty-title' }, status ? '这一类里还没有办件。' : '您还没有办件。'),
        h('p', null, '在办事指南页点“在线申请”即可网上办理，材料能从电子证照库调取的不用再交。'),
        h('p', null, h('a', { class: 'btn btn-primary', href: '/search' }, '查找办事事项')),
      ),
    );
    return;
  }
  replace(
    box,
    h('p', { class: 'result-count' }, `共 ${total} 件`),
    h('ul', { class: 'case-cards', id: 'my-cases' }, items.map(card)),
    pager(total, page, PAGE, (p) => url(p), '我的办件分页'),
  );
}

function card(c) {
  const continueHref = c.kind === 'item' && (c.status === 'draft' || c.status === 'returned_for_correction') ? `/apply/${encodeURIComponent(c.item_code)}?case=${c.id}` : '';
  return h(
    'li',
    { class: ['case-card', dueClass(c)], dataset: { id: String(c.id), status: c.status } },
    h(
      'div',
      { class: 'case-card-head' },
      h('a', { class: 'case-card-name', href: `/cases/${c.id}` }, c.item_name),
      statusBadge(c),
    ),
    h(
      'p',
      { class: 'case-card-meta' },
      h('span', null, '受理编号 ', h('span', { class: 'mono' }, c.case_no)),
      h('span', null, c.submitted_at ? `提交于 ${fmtDateTime(c.submitted_at)}` : `创建于 ${fmtDateTime(c.created_at)}`),
      c.kind === 'bundle' ? h('span', { class: 'tag' }, '一件事') : null,
      c.parent_id ? h('a', { class: 'tag', href: `/cases/${c.parent_id}` }, '属于“一件事”') : null,
    ),
    c.deadline_at || c.status === 'submitted' ? h('p', { class: 'case-card-due' }, '办结时限：', deadlineCell(c)) : null,
    continueHref ? h('p', { class: 'case-card-actions' }, h('a', { class: 'btn btn-primary btn-small', href: continueHref }, c.status === 'draft' ? '继续填写' : '去补正材料')) : null,
  );
}

/** The latest messages, when the inbox API answers and has any. */
async function messages(box, ctx) {
  const r = await get('/api/v1/me/notifications?limit=5', { signal: ctx.signal });
  if (ctx.signal.aborted) return;
  const items = (r && r.items) || [];
  if (!items.length) return;
  const unread = Number(r.unread) || 0;
  const readAll = unread
    ? h('button', { type: 'button', class: 'btn btn-link btn-small', id: 'read-all' }, '全部标为已读')
    : null;
  readAll?.addEventListener('click', async () => {
    readAll.disabled = true;
    try {
      await post('/api/v1/me/notifications/read-all');
      for (const li of box.querySelectorAll('.msg.is-unread')) li.classList.remove('is-unread');
      for (const b of box.querySelectorAll('.msg-unread')) b.remove();
      readAll.remove();
      box.querySelector('.msg-count')?.remove();
    } catch {
      readAll.disabled = false;
    }
  });
  replace(
    box,
    h(
      'section',
      { class: 'panel inbox', 'aria-labelledby': 'inbox-title' },
      h(
        'div',
        { class: 'inbox-head' },
        h('h2', { class: 'panel-title', id: 'inbox-title' }, '最新消息', unread ? h('span', { class: 'msg-count' }, `${unread} 条未读`) : null),
        readAll,
      ),
      h(
        'ul',
        { class: 'msg-list' },
        items.map((m) => {
          const title = m.link && m.link.startsWith('/') ? h('a', { href: m.link }, m.title || '通知') : h('span', null, m.title || '通知');
          if (!m.read_at && m.link) {
            title.addEventListener('click', () => {
              post(`/api/v1/me/notifications/${m.id}/read`).catch(() => {});
            });
          }
          return h(
            'li',
            { class: ['msg', !m.read_at && 'is-unread'] },
            h(
              'p',
              { class: 'msg-title' },
              h('span', null, !m.read_at ? h('span', { class: 'msg-unread' }, '未读') : null, title),
              h('time', { class: 'msg-time', datetime: m.created_at }, fmtDateTime(m.created_at)),
            ),
            m.body ? h('p', { class: 'msg-body' }, m.body) : null,
          );
        }),
      ),
    ),
  );
}
