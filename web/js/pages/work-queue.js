/* /work/queue — the staff queue (staff, approver, supervisor, admin): the cases
 * of the caller's department (everything for supervisors and admins) from
 * GET /api/v1/cases, sorted by deadline, with yellow (即将到期, ≤ 1 working day
 * left) and red (已超期) flags in words as well as colour. Filters — status,
 * due, town, item, who it is assigned to, a search — and the page live in the
 * URL. The counters above the list are the totals of the usual views, and the
 * supervisor's view of every overdue case is /work/queue?due=overdue. */
import { get, withQuery } from '../api.js';
import { deadlineCell, dueClass, pager, statusBadge } from '../cases.js';
import { field, fmtDateTime, h, notice, replace } from '../dom.js';
import { byCounty, towns } from '../towns.js';

const PAGE = 20;

const STATUS_OPTIONS = [
  { value: '', label: '待办（待受理、办理中、待送达）' },
  { value: 'submitted', label: '待受理' },
  { value: 'accepted', label: '已受理' },
  { value: 'in_review', label: '审查中' },
  { value: 'approved', label: '已批准待送达' },
  { value: 'suspended', label: '已中止' },
  { value: 'returned_for_correction', label: '退回补正' },
  { value: 'open', label: '全部在办' },
  { value: 'closed', label: '已办结（含不予受理、撤回）' },
  { value: 'all', label: '全部状态' },
];
const DUE_OPTIONS = [
  { value: '', label: '全部' },
  { value: 'due_soon', label: '即将到期（1 个工作日内）' },
  { value: 'overdue', label: '已超期' },
];
const ASSIGNEE_OPTIONS = [
  { value: '', label: '全部' },
  { value: 'me', label: '分派给我' },
  { value: 'none', label: '未分派' },
];
const SORT_OPTIONS = [
  { value: '', label: '按办结时限（最紧的在前）' },
  { value: '-created', label: '按提交时间（最新的在前）' },
  { value: 'created', label: '按提交时间（最早的在前）' },
];

/** The API's status parameter for the page's status filter. */
function apiStatus(s) {
  if (s === 'all') return '';
  return s || 'todo';
}

export async function render(main, ctx) {
  const supervisor = ['supervisor', 'admin'].includes(ctx.user.role);
  const p = ctx.params;
  const f = {
    status: STATUS_OPTIONS.some((o) => o.value === p.get('status')) ? p.get('status') : '',
    due: DUE_OPTIONS.some((o) => o.value === p.get('due')) ? p.get('due') : '',
    town: /^\d{9}$/.test(p.get('town') || '') ? p.get('town') : '',
    item: (p.get('item') || '').trim().slice(0, 40),
    assignee: ASSIGNEE_OPTIONS.some((o) => o.value === p.get('assignee')) ? p.get('assignee') : '',
    q: (p.get('q') || '').trim().slice(0, 100),
    sort: SORT_OPTIONS.some((o) => o.value === p.get('sort')) ? p.get('sort') : '',
  };
  const page = Math.max(1, parseInt(p.get('page') || '1', 10) || 1);
  const title = f.due === 'overdue' ? '超期办件' : supervisor ? '办件督办' : '办件队列';
  ctx.setTitle(title);
  const url = (over = {}, pg = 1) => withQuery('/work/queue', { ...f, ...over, page: pg > 1 ? pg : '' });

  const townList = await towns().catch(() => []);
  if (ctx.signal.aborted) return;
  const townName = new Map(townList.map((t) => [t.code, t.name]));

  // ---- counters: the totals of the usual views ----
  const counters = h('ul', { class: 'queue-counters', id: 'queue-counters', 'aria-label': '办件概况' });
  const views = [
    { key: 'todo', label: '待办', params: { status: 'todo' }, go: { status: '', due: '', assignee: '' } },
    { key: 'due_soon', label: '即将到期', params: { due: 'due_soon' }, go: { status: '', due: 'due_soon', assignee: '' }, tone: 'soon' },
    { key: 'overdue', label: '已超期', params: { due: 'overdue' }, go: { status: '', due: 'overdue', assignee: '' }, tone: 'overdue' },
    supervisor ? null : { key: 'mine', label: '分派给我', params: { status: 'todo', assignee: 'me' }, go: { status: '', due: '', assignee: 'me' } },
    { key: 'none', label: '未分派', params: { status: 'todo', assignee: 'none' }, go: { status: '', due: '', assignee: 'none' } },
  ].filter(Boolean);
  const activeView = (v) => Object.entries(v.go).every(([k, val]) => f[k] === val) && !f.town && !f.item && !f.q;
  replace(
    counters,
    views.map((v) =>
      h(
        'li',
        null,
        h(
          'a',
          { class: ['counter', v.tone && `counter-${v.tone}`], href: url({ ...v.go, town: '', item: '', q: '' }), 'aria-current': activeView(v) ? 'true' : null, dataset: { view: v.key } },
          h('span', { class: 'counter-n' }, '…'),
          h('span', { class: 'counter-label' }, v.label),
        ),
      ),
    ),
  );
  Promise.all(
    views.map((v) =>
      get(withQuery('/api/v1/cases', { ...v.params, limit: 1 }), { signal: ctx.signal })
        .then((r) => (r && Number.isFinite(r.total) ? r.total : '—'))
        .catch(() => '—'),
    ),
  ).then((totals) => {
    if (ctx.signal.aborted) return;
    counters.querySelectorAll('.counter-n').forEach((el, i) => {
      el.textContent = String(totals[i]);
    });
  });

  // ---- filters ----
  const townOpts = [{ value: '', label: '全部乡镇' }];
  for (const [county, ts] of byCounty(townList)) for (const t of ts) townOpts.push({ value: t.code, label: `${county} · ${t.name}` });
  const sel = (label, name, options, value) => {
    const w = field({ label, name, options, value });
    w.querySelector('.opt')?.remove();
    return w;
  };
  const fStatus = sel('状态', 'status', STATUS_OPTIONS, f.status);
  const fDue = sel('办结时限', 'due', DUE_OPTIONS, f.due);
  const fTown = sel('乡镇（街道）', 'town', townOpts, f.town);
  const fAssignee = sel('经办人', 'assignee', ASSIGNEE_OPTIONS, f.assignee);
  const fSort = sel('排序', 'sort', SORT_OPTIONS, f.sort);
  const fItem = field({ label: '事项编码', name: 'item', value: f.item, placeholder: '如 330900-GA-100001', maxlength: 40 });
  fItem.querySelector('.opt')?.remove();
  const fQ = field({ label: '搜索', name: 'q', type: 'search', value: f.q, placeholder: '受理编号或事项名称', maxlength: 100 });
  fQ.querySelector('.opt')?.remove();
  const filtered = f.status || f.due || f.town || f.item || f.assignee || f.q || f.sort;
  const filters = h(
    'form',
    { class: 'filters queue-filters', id: 'queue-filters', role: 'search', 'aria-label': '筛选办件' },
    fQ,
    fStatus,
    fDue,
    fAssignee,
    // Less used: folded away unless one of them is in use.
    h(
      'details',
      { class: 'more-filters', open: Boolean(f.town || f.item || f.sort) },
      h('summary', null, '更多筛选：乡镇、事项、排序'),
      h('div', { class: 'more-filters-body' }, fTown, fItem, fSort),
    ),
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, '查询'),
      filtered ? h('a', { class: 'btn btn-ghost', href: '/work/queue' }, '清除') : null,
    ),
  );
  const read = () => ({
    status: fStatus.control.value,
    due: fDue.control.value,
    town: fTown.control.value,
    assignee: fAssignee.control.value,
    item: fItem.control.value.trim(),
    q: fQ.control.value.trim(),
    sort: fSort.control.value,
  });
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(withQuery('/work/queue', read()));
  });
  for (const w of [fStatus, fDue, fTown, fAssignee, fSort]) w.control.addEventListener('change', () => ctx.navigate(withQuery('/work/queue', read())));

  const box = h('div', { class: 'queue-box' }, h('p', { class: 'loading' }, '正在加载办件…'));
  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { class: 'page-title', tabindex: '-1' }, title),
      h(
        'p',
        { class: 'page-sub' },
        supervisor ? '全市各部门的办件；超期办件请督促办理部门尽快办结。' : `${ctx.user.display_name}，以下是本部门的办件，按办结时限排序。`,
      ),
    ),
    counters,
    filters,
    box,
  );

  let r;
  try {
    r = await get(
      withQuery('/api/v1/cases', {
        status: f.due ? (f.status ? apiStatus(f.status) : '') : apiStatus(f.status),
        due: f.due,
        town: f.town,
        item: f.item,
        assignee: f.assignee,
        q: f.q,
        sort: f.sort,
        limit: PAGE,
        offset: (page - 1) * PAGE,
      }),
      { signal: ctx.signal },
    );
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(box, notice('error', `办件加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  const items = (r && r.items) || [];
  const total = r && Number.isFinite(r.total) ? r.total : items.length;
  if (!items.length) {
    replace(box, notice('info', filtered ? '没有符合条件的办件。' : '暂无待办办件。'));
    return;
  }
  replace(
    box,
    h('p', { class: 'result-count', id: 'queue-count' }, `共 ${total} 件`, f.due === 'overdue' ? '超期办件' : ''),
    queueTable(items, ctx.user, townName),
    pager(total, page, PAGE, (pg) => url({}, pg), '办件分页'),
  );
}

function assigneeText(c, me) {
  if (!c.assignee_id) return h('span', { class: 'muted' }, '未分派');
  if (c.assignee_id === me.id) return h('strong', null, '我');
  return '已分派';
}

function queueTable(items, me, townName) {
  const cols = ['受理编号', '事项', '状态', '办结时限', '乡镇', '经办人', '提交时间'];
  return h(
    'div',
    { class: 'table-scroll queue-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'queue-caption' },
    h(
      'table',
      { class: 'table queue-table', id: 'queue-table' },
      h('caption', { id: 'queue-caption', class: 'visually-hidden' }, '办件列表，按办结时限排序'),
      h('thead', null, h('tr', null, cols.map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        items.map((c) =>
          h(
            'tr',
            { class: dueClass(c), dataset: { id: String(c.id), status: c.status, due: c.due || '' } },
            h('th', { scope: 'row', class: 'q-no', dataset: { label: cols[0] } }, h('a', { class: 'mono', href: `/cases/${c.id}` }, c.case_no)),
            h('td', { class: 'q-item', dataset: { label: cols[1] } }, h('span', { class: 'q-item-name' }, c.item_name), h('span', { class: 'q-dept' }, c.department)),
            h('td', { class: 'q-status', dataset: { label: cols[2] } }, statusBadge(c)),
            h('td', { class: 'q-due', dataset: { label: cols[3] } }, deadlineCell(c)),
            h('td', { dataset: { label: cols[4] } }, c.town_code ? townName.get(c.town_code) || c.town_code : '—'),
            h('td', { dataset: { label: cols[5] } }, assigneeText(c, me)),
            h('td', { class: 'nowrap', dataset: { label: cols[6] } }, c.submitted_at ? fmtDateTime(c.submitted_at) : '—'),
          ),
        ),
      ),
    ),
  );
}
