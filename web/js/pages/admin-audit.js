/* /admin/audit — admin and supervisor: the hash-chained audit trail, newest first.
 * Filters (action, object type, actor, date range in Asia/Shanghai) live in the URL;
 * paging follows the API's next_before cursor (a stack of cursors allows 上一页);
 * 校验哈希链 calls /api/v1/audit/verify and shows the verdict. */
import { get, withQuery } from '../api.js';
import { field, fmtDateTime, h, notice, replace, shanghaiDayToUtc } from '../dom.js';

const PAGE = 50; // default page size; ?limit= (10–200) overrides it

export async function render(main, ctx) {
  ctx.setTitle('审计日志');
  const p = ctx.params;
  const filt = {
    action: p.get('action') || '',
    object_type: p.get('object_type') || '',
    actor: p.get('actor') || '',
    from: p.get('from') || '',
    to: p.get('to') || '',
  };
  // Cursor stack: "before" values of the pages already passed, so 上一页 works.
  const trail = (p.get('trail') || '').split(',').filter(Boolean);
  const before = p.get('before') || '';
  const lim = parseInt(p.get('limit') || '', 10);
  const limit = Number.isFinite(lim) ? Math.min(200, Math.max(10, lim)) : PAGE;
  if (limit !== PAGE) filt.limit = String(limit); // keep a chosen page size while paging

  const url = (extra) => withQuery('/admin/audit', { ...filt, ...extra });

  // ---- filters ----
  const f = {
    action: field({ label: '动作', name: 'action', value: filt.action, placeholder: '如 user.create' }),
    object_type: field({ label: '对象类型', name: 'object_type', value: filt.object_type, placeholder: '如 user' }),
    actor: field({ label: '操作人', name: 'actor', value: filt.actor, placeholder: '操作人账号，如 admin' }),
    from: field({ label: '开始日期', name: 'from', type: 'date', value: filt.from }),
    to: field({ label: '结束日期', name: 'to', type: 'date', value: filt.to }),
  };
  for (const x of Object.values(f)) x.querySelector('.opt')?.remove();
  const actionList = h('datalist', { id: 'audit-actions' });
  f.action.control.setAttribute('list', 'audit-actions');
  const hasFilter = ['action', 'object_type', 'actor', 'from', 'to'].some((k) => filt[k]);
  const filters = h(
    'form',
    { class: 'filters filters-audit', role: 'search', 'aria-label': '筛选审计记录' },
    Object.values(f),
    actionList,
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, '查询'),
      hasFilter ? h('a', { class: 'btn btn-ghost', href: '/admin/audit' }, '清除') : null,
    ),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = filt.limit ? { limit: filt.limit } : {};
    for (const [k, x] of Object.entries(f)) v[k] = x.control.value.trim();
    const err = filters.querySelector('.form-alert');
    if (err) err.remove();
    if (v.from && v.to && v.from > v.to) {
      const slot = f.to.querySelector('.field-error');
      slot.textContent = '结束日期不能早于开始日期';
      slot.hidden = false;
      f.to.control.setAttribute('aria-invalid', 'true');
      f.to.control.focus();
      return;
    }
    ctx.navigate(withQuery('/admin/audit', v));
  });

  // ---- verify ----
  const verifyOut = h('div', { class: 'verify-out', id: 'verify-result', role: 'status', 'aria-live': 'polite' });
  const verifyBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'verify-chain' }, '校验哈希链');
  verifyBtn.addEventListener('click', async () => {
    verifyBtn.disabled = true;
    verifyBtn.setAttribute('aria-busy', 'true');
    replace(verifyOut, h('p', { class: 'loading' }, '正在校验全部审计记录…'));
    try {
      const r = await get('/api/v1/audit/verify', { signal: ctx.signal });
      replace(
        verifyOut,
        r.ok
          ? notice('ok', h('strong', null, '哈希链完整。'), ` 已校验 ${r.rows} 条记录，未发现篡改。`)
          : notice(
              'error',
              h('strong', null, '哈希链校验失败！'),
              ` 已校验 ${r.rows} 条记录，自第 ${r.first_broken} 号记录起不一致`,
              r.reason ? `：${r.reason}` : '。',
            ),
      );
    } catch (e) {
      if (!ctx.signal.aborted) replace(verifyOut, notice('error', `校验请求失败：${e.message}`));
    } finally {
      verifyBtn.disabled = false;
      verifyBtn.removeAttribute('aria-busy');
    }
  });

  const tableBox = h('div', { class: 'table-box' }, h('p', { class: 'loading' }, '正在加载审计记录…'));
  const pager = h('nav', { class: 'pager', 'aria-label': '审计日志分页' });

  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h(
        'div',
        null,
        h('h1', { class: 'page-title', tabindex: '-1' }, '审计日志'),
        h('p', { class: 'page-sub' }, '所有状态变更均记录在案，记录之间以哈希链相连，任何篡改都可被发现。'),
      ),
      verifyBtn,
    ),
    verifyOut,
    filters,
    tableBox,
    pager,
  );

  let r;
  try {
    r = await get(
      withQuery('/api/v1/audit', {
        action: filt.action,
        object_type: filt.object_type,
        actor: filt.actor,
        since: filt.from ? shanghaiDayToUtc(filt.from) : '',
        until: filt.to ? shanghaiDayToUtc(filt.to, true) : '',
        limit,
        before,
      }),
      { signal: ctx.signal },
    );
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(tableBox, notice('error', `审计记录加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  const items = (r && r.items) || [];
  const actions = [...new Set(items.map((it) => it.action).filter(Boolean))].sort();
  replace(actionList, actions.map((a) => h('option', { value: a })));

  const empty = trail.length ? '没有更早的审计记录了。' : hasFilter ? '没有符合条件的审计记录。' : '暂无审计记录。';
  replace(tableBox, items.length ? table(items) : notice('info', empty));

  const prev = trail.length
    ? h(
        'a',
        {
          class: 'btn btn-ghost',
          id: 'audit-prev',
          href: url({
            before: trail[trail.length - 1] === '-' ? '' : trail[trail.length - 1],
            trail: trail.slice(0, -1).join(','),
          }),
        },
        '上一页',
      )
    : h('span', { class: 'btn btn-ghost', 'aria-disabled': 'true' }, '上一页');
  const next =
    r && r.next_before && items.length
      ? h('a', { class: 'btn btn-ghost', id: 'audit-next', href: url({ before: r.next_before, trail: [...trail, before || '-'].join(',') }) }, '下一页')
      : h('span', { class: 'btn btn-ghost', 'aria-disabled': 'true' }, '下一页');
  replace(pager, prev, h('span', { class: 'pager-info' }, `第 ${trail.length + 1} 页 · 本页 ${items.length} 条`), next);
}

function jsonBlock(label, v) {
  if (v === null || v === undefined || v === '') return null;
  let text;
  try {
    text = typeof v === 'string' ? JSON.stringify(JSON.parse(v), null, 2) : JSON.stringify(v, null, 2);
  } catch {
    text = String(v);
  }
  return h('div', { class: 'diff-side' }, h('p', { class: 'diff-label' }, label), h('pre', { class: 'json' }, text));
}

function table(items) {
  return h(
    'div',
    { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'audit-caption' },
    h(
      'table',
      { class: 'table table-audit', id: 'audit-table' },
      h('caption', { id: 'audit-caption' }, '审计记录（最新在前）'),
      h(
        'thead',
        null,
        h('tr', null, ['编号', '时间', '操作人', '动作', '对象', '变更', '请求 ID', '哈希'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        null,
        items.map((it) => {
          const b = jsonBlock('变更前', it.before);
          const a = jsonBlock('变更后', it.after);
          return h(
            'tr',
            { dataset: { id: String(it.id) } },
            h('td', { class: 'mono' }, String(it.id)),
            h('td', { class: 'nowrap' }, h('time', { datetime: it.at }, fmtDateTime(it.at))),
            h('td', null, it.actor_login || (it.actor_id ? `#${it.actor_id}` : h('span', { class: 'muted' }, '系统'))),
            h('td', null, h('code', { class: 'action' }, it.action)),
            h('td', null, it.object_type ? [h('span', null, it.object_type), it.object_id ? h('span', { class: 'muted' }, ` #${it.object_id}`) : null] : '—'),
            h(
              'td',
              { class: 'diff-cell' },
              b || a ? h('details', null, h('summary', null, '查看'), h('div', { class: 'diff' }, b, a)) : h('span', { class: 'muted' }, '—'),
            ),
            h('td', { class: 'mono small' }, it.request_id || '—'),
            h('td', { class: 'mono small' }, it.hash ? h('span', { title: it.hash }, `${String(it.hash).slice(0, 12)}…`) : '—'),
          );
        }),
      ),
    ),
  );
}
