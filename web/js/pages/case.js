/* /cases/{id} — one application (GET /api/v1/cases/{id}) for whoever may see it:
 * the applicant (or the agent who applied for them) and the department's staff,
 * approvers, supervisors and admins (anyone else gets 404 from the API).
 *
 * Shows the status and what it means, the deadline (办结时限) with its due flag
 * and remaining working days, the timeline of events, each material and how it
 * was satisfied, the form, and for a 一件事 bundle its members and progress bar
 * (with the working-hour clock where the bundle promises hours).
 *
 * What the viewer may do comes from the case's `actions`: the applicant may
 * withdraw (and continue a draft or a returned case on the apply page); staff
 * act on it (a dialog asks for the reason where one is due: return, reject,
 * deny, suspend), assign it, and add notes. After delivery the applicant rates
 * the service (好差评, POST /api/v1/cases/{id}/rating) when that API is there. */
import { get, post } from '../api.js';
import { daysText } from '../catalog.js';
import {
  ACTION_LABELS,
  askReason,
  CHANNELS,
  dueBadge,
  fmtMinute,
  materialHow,
  num,
  PATHS,
  progressBar,
  REASON_REQUIRED,
  remainingText,
  STATUS_HINTS,
  statusBadge,
  timeline,
} from '../cases.js';
import { fmtDateTime, h, maskMiddle, nextId, notice, replace } from '../dom.js';
import { townNames } from '../towns.js';

const STAFF_ROLES = ['staff', 'approver', 'supervisor', 'admin'];
// Actions done with one click; the others open a dialog (reason, or a confirmation).
const ONE_CLICK = new Set(['accept', 'review', 'resume']);
const PRIMARY = new Set(['accept', 'review', 'approve', 'deliver', 'resume']);
const DANGER = new Set(['reject', 'deny', 'withdraw']);

const FALLBACK_LABELS = {
  name: '申请人姓名',
  id_number: '身份证号码',
  phone: '联系电话',
  address: '联系地址',
  company_name: '企业名称',
  credit_code: '统一社会信用代码',
  contact_name: '经办人姓名',
  contact_phone: '经办人电话',
  note: '申请事由或补充说明',
};

export async function render(main, ctx) {
  const id = ctx.route.id;
  ctx.setTitle('办件详情');
  replace(main, h('p', { class: 'loading' }, '正在加载办件…'));
  if (!/^\d+$/.test(id)) return notFound(main, ctx);
  let c;
  try {
    c = await get(`/api/v1/cases/${id}`, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (e.status === 404) return notFound(main, ctx);
    throw e;
  }
  if (ctx.signal.aborted) return;

  const u = ctx.user;
  const owner = (c.applicant && c.applicant.id === u.id) || (c.agent && c.agent.id === u.id) || c.applicant_id === u.id;
  const staff = STAFF_ROLES.includes(u.role) && !owner;
  const finished = c.status === 'delivered' || c.status === 'denied';
  const formPath = c.kind === 'bundle' ? `/api/v1/bundles/${encodeURIComponent(c.bundle_code)}/form` : `/api/v1/items/${encodeURIComponent(c.item_code)}/form`;
  const [def, licences, rating, towns] = await Promise.all([
    get(formPath, { signal: ctx.signal }).catch(() => null),
    owner ? get('/api/v1/me/licences', { signal: ctx.signal }).catch(() => null) : null,
    finished ? get(`/api/v1/cases/${c.id}/rating`, { signal: ctx.signal }).catch(() => null) : null,
    townNames().catch(() => new Map()),
  ]);
  if (ctx.signal.aborted) return;

  const view = {
    ctx,
    main,
    c,
    owner,
    staff,
    labels: labelMap(def),
    licences: new Map(((licences && licences.items) || []).map((l) => [l.id, l])),
    rating,
    towns,
    status: h('div', { class: 'status-region', id: 'case-msg', role: 'status', 'aria-live': 'polite' }),
  };
  draw(view);
}

function notFound(main, ctx) {
  ctx.setTitle('办件不存在');
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, '办件不存在'), h('p', { class: 'page-sub' }, '没有这个办件，或您无权查看。')),
    h('p', null, h('a', { class: 'btn btn-primary', href: ctx.user && STAFF_ROLES.includes(ctx.user.role) ? '/work/queue' : '/me/cases' }, ctx.user && STAFF_ROLES.includes(ctx.user.role) ? '返回办件队列' : '返回我的办件')),
  );
}

function labelMap(def) {
  const m = new Map(Object.entries(FALLBACK_LABELS));
  for (const f of (def && def.fields) || []) m.set(f.name, f.label);
  return m;
}

/** Reload the case after a change and redraw, with a message. */
async function refresh(view, message, kind = 'ok') {
  try {
    view.c = await get(`/api/v1/cases/${view.c.id}`);
    if (view.c.status === 'delivered' || view.c.status === 'denied') {
      view.rating = await get(`/api/v1/cases/${view.c.id}/rating`).catch(() => null);
    }
  } catch (e) {
    message = `${message ? `${message} ` : ''}（刷新失败：${e.message}）`;
    kind = 'warn';
  }
  if (view.ctx.signal.aborted) return;
  draw(view, { focus: true });
  if (message) replace(view.status, notice(kind, message));
}

function draw(view, { focus = false } = {}) {
  const { c, ctx, owner, staff } = view;
  ctx.setTitle(`${c.item_name} · ${c.case_no}`);
  const back = staff ? h('a', { href: '/work/queue' }, '办件队列') : h('a', { href: '/me/cases' }, '我的办件');
  const toRate = Boolean(owner && view.rating && !view.rating.rating && view.rating.can_rate);
  replace(
    view.main,
    h(
      'nav',
      { class: 'breadcrumb', 'aria-label': '当前位置' },
      h('ol', null, h('li', null, h('a', { href: '/' }, '首页')), h('li', null, back), h('li', { 'aria-current': 'page' }, c.case_no)),
    ),
    header(view),
    view.status,
    banner(view),
    staff && staffActions(view),
    h(
      'div',
      { class: 'case-layout' },
      h(
        'div',
        { class: 'case-main' },
        // A rating still to give comes first; a given one goes with the record below.
        toRate ? ratingSection(view) : null,
        c.kind === 'bundle' ? membersSection(view) : null,
        section('timeline', '办理进度', timeline(c.events)),
        c.kind === 'bundle' ? null : section('materials', '申请材料', materialsTable(view)),
        section('form', '申请信息', formValues(view)),
        !toRate && view.rating && view.rating.rating ? ratingSection(view) : null,
      ),
      h('aside', { class: 'case-aside' }, deadlinePanel(view), infoPanel(view), staff ? assignPanel(view) : null, notePanel(view)),
    ),
  );
  if (!focus) return;
  const h1 = view.main.querySelector('h1');
  if (h1) h1.focus({ preventScroll: true });
}

function section(id, title, body) {
  return h('section', { class: 'case-section panel', id: `case-sec-${id}`, 'aria-labelledby': `case-sec-${id}-title` }, h('h2', { class: 'panel-title', id: `case-sec-${id}-title` }, title), body);
}

function header(view) {
  const { c } = view;
  return h(
    'header',
    { class: 'page-head case-head' },
    h('p', { class: 'guide-kicker' }, c.kind === 'bundle' ? '一件事 · 办件详情' : '办件详情'),
    h('h1', { class: 'page-title', tabindex: '-1', id: 'case-title' }, c.item_name),
    h(
      'p',
      { class: 'case-head-meta' },
      h('span', { class: 'case-no-line' }, '受理编号 ', h('span', { class: 'mono', id: 'case-no' }, c.case_no)),
      h('span', { id: 'case-status' }, statusBadge(c)),
      c.path && c.path !== 'normal' ? h('span', { class: c.path === 'instant' ? 'badge badge-fast' : 'badge badge-commit' }, PATHS[c.path] || c.path) : null,
      dueBadge(c),
    ),
  );
}

function banner(view) {
  const { c, owner } = view;
  const hint = STATUS_HINTS[c.status] || '';
  const last = [...(c.events || [])].reverse().find((e) => e.to_status === c.status && e.reason);
  const kind = { delivered: 'ok', approved: 'ok', denied: 'error', rejected_at_intake: 'error', returned_for_correction: 'warn', suspended: 'warn' }[c.status] || 'info';
  const buttons = [];
  if (owner && c.kind !== 'bundle' && (c.status === 'draft' || c.status === 'returned_for_correction') && c.item_code) {
    buttons.push(
      h('a', { class: 'btn btn-primary', id: 'continue-apply', href: `/apply/${encodeURIComponent(c.item_code)}?case=${c.id}` }, c.status === 'draft' ? '继续填写' : '去补正材料'),
    );
  }
  if (owner && (c.actions || []).includes('withdraw')) {
    const b = h('button', { type: 'button', class: 'btn btn-danger-ghost', id: 'withdraw' }, '撤回申请');
    b.addEventListener('click', () =>
      askReason({
        title: '撤回申请',
        message: `撤回后“${c.item_name}”的这次申请将终止办理，如需办理须重新申请。确定撤回吗？`,
        label: '撤回原因',
        confirm: '确定撤回',
        danger: true,
        onSubmit: async (reason) => {
          await post(`/api/v1/cases/${c.id}/actions/withdraw`, { reason: reason || undefined, version: c.version });
          await refresh(view, '申请已撤回。');
        },
      }),
    );
    buttons.push(b);
  }
  return h(
    'div',
    { class: ['notice', `notice-${kind}`, 'case-banner'], id: 'case-banner' },
    h('p', { class: 'case-banner-text' }, h('strong', null, c.status_label || ''), hint ? `　${hint}` : ''),
    last && ['returned_for_correction', 'rejected_at_intake', 'denied', 'suspended', 'withdrawn'].includes(c.status) ? h('p', null, `理由：${last.reason}`) : null,
    buttons.length ? h('div', { class: 'action-row' }, buttons) : null,
  );
}

/* ---------- staff: actions, assignment, notes ---------- */

function staffActions(view) {
  const { c } = view;
  const acts = (c.actions || []).filter((a) => a !== 'submit' && a !== 'withdraw');
  if (!acts.length) return null;
  return h(
    'section',
    { class: 'panel case-actions', id: 'case-actions', 'aria-labelledby': 'case-actions-title' },
    h('h2', { class: 'panel-title', id: 'case-actions-title' }, '办理操作'),
    h(
      'div',
      { class: 'action-row' },
      acts.map((a) => {
        const b = h(
          'button',
          { type: 'button', class: ['btn', PRIMARY.has(a) ? 'btn-primary' : DANGER.has(a) ? 'btn-danger-ghost' : 'btn-ghost'], dataset: { action: a } },
          ACTION_LABELS[a] || a,
        );
        b.addEventListener('click', () => act(view, a, b));
        return b;
      }),
    ),
    h('p', { class: 'hint' }, '退回补正、不予受理、不予批准和中止办理须填写理由，理由会告知申请人。'),
  );
}

async function act(view, action, btn) {
  const { c } = view;
  const label = ACTION_LABELS[action] || action;
  const run = async (reason) => {
    try {
      await post(`/api/v1/cases/${c.id}/actions/${action}`, { reason: reason || undefined, version: c.version });
    } catch (e) {
      if (e.status === 409 && e.field === 'version') {
        await refresh(view, '办件已被他人处理，已刷新为最新状态，请核对后再操作。', 'warn');
        return;
      }
      throw e;
    }
    await refresh(view, `已${label}。`);
  };
  if (ONE_CLICK.has(action)) {
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    try {
      await run('');
    } catch (e) {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
      replace(view.status, notice('error', `${label}失败：${e.message}`));
    }
    return;
  }
  const required = REASON_REQUIRED.has(action);
  await askReason({
    title: `${label} · ${c.case_no}`,
    message: required ? `请填写${label}的理由，理由会告知申请人。` : `确定对“${c.item_name}”执行“${label}”吗？`,
    label: required ? '理由' : '说明',
    required,
    confirm: `确定${label}`,
    danger: DANGER.has(action),
    onSubmit: run,
  });
}

function assignPanel(view) {
  const { c, ctx } = view;
  const me = ctx.user;
  const msg = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const doAssign = async (uid, btn) => {
    msg.hidden = true;
    btn.disabled = true;
    try {
      await post(`/api/v1/cases/${c.id}/assign`, { assignee_id: uid });
      await refresh(view, uid === me.id ? '已分派给您。' : '已分派。');
    } catch (e) {
      btn.disabled = false;
      msg.textContent = e.message;
      msg.hidden = false;
    }
  };
  const body = [
    h('p', { class: 'assignee', id: 'assignee' }, '经办人：', c.assignee ? h('strong', null, c.assignee.display_name, c.assignee.id === me.id ? '（我）' : '') : h('span', { class: 'muted' }, '未分派')),
  ];
  if (['staff', 'approver'].includes(me.role) && (!c.assignee || c.assignee.id !== me.id)) {
    const b = h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'assign-me' }, '分派给我');
    b.addEventListener('click', () => doAssign(me.id, b));
    body.push(h('div', { class: 'action-row' }, b));
  }
  if (['supervisor', 'admin'].includes(me.role)) {
    const holder = h('div', { class: 'assign-other' });
    body.push(holder);
    assignOther(view, holder, doAssign);
  }
  body.push(msg);
  return h('section', { class: 'panel case-panel', id: 'case-assign', 'aria-labelledby': 'case-assign-title' }, h('h2', { class: 'panel-title', id: 'case-assign-title' }, '分派'), body);
}

/** Assign to someone else: a list of the department's staff where the caller may
 *  read users (admins), else the staff member's user number. */
async function assignOther(view, holder, doAssign) {
  const { c, ctx } = view;
  const selId = nextId('assignee');
  let people = null;
  if (ctx.user.role === 'admin') {
    try {
      const [s, a] = await Promise.all([get('/api/v1/users?role=staff&limit=200'), get('/api/v1/users?role=approver&limit=200')]);
      people = [...(s.items || []), ...(a.items || [])].filter((p) => !p.disabled && (!p.department || p.department === c.department));
    } catch {
      people = null;
    }
  }
  const btn = h('button', { type: 'submit', class: 'btn btn-ghost btn-small' }, '分派');
  let ctl;
  if (people && people.length) {
    ctl = h(
      'select',
      { id: selId, name: 'assignee_id' },
      people.map((p) => h('option', { value: String(p.id) }, `${p.display_name}（${p.role_name || p.role}）`)),
    );
  } else {
    ctl = h('input', { id: selId, name: 'assignee_id', type: 'text', inputmode: 'numeric', pattern: '[0-9]*', maxlength: '12', autocomplete: 'off' });
  }
  const f = h(
    'form',
    { class: 'assign-form', novalidate: true },
    h('label', { for: selId }, people && people.length ? '分派给' : '分派给（工作人员编号）'),
    h('div', { class: 'inline-row' }, ctl, btn),
  );
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = parseInt(ctl.value, 10);
    if (!Number.isFinite(v) || v <= 0) {
      ctl.setAttribute('aria-invalid', 'true');
      ctl.focus();
      return;
    }
    doAssign(v, btn);
  });
  holder.replaceChildren(f);
}

function notePanel(view) {
  const { c, staff, owner } = view;
  if (!staff && !owner) return null;
  const id = nextId('note');
  const ta = h('textarea', { id, name: 'text', rows: '3', maxlength: '500', 'aria-describedby': `${id}-hint ${id}-err` });
  const err = h('p', { class: 'field-error', id: `${id}-err`, hidden: true, role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'btn btn-ghost btn-small' }, staff ? '添加备注' : '发送留言');
  const form = h(
    'form',
    { class: 'form note-form', id: 'note-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: id }, staff ? '备注' : '给办理人员留言'), ta, h('p', { class: 'hint', id: `${id}-hint` }, staff ? '备注记入办理进度，申请人可以看到。' : '留言记入办理进度，办理人员可以看到。'), err),
    h('div', { class: 'form-actions' }, btn),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    const text = ta.value.trim();
    if (!text) {
      err.textContent = '请填写内容';
      err.hidden = false;
      ta.focus();
      return;
    }
    btn.disabled = true;
    try {
      await post(`/api/v1/cases/${c.id}/notes`, { text });
      await refresh(view, staff ? '备注已添加。' : '留言已发送。');
    } catch (ex) {
      btn.disabled = false;
      err.textContent = ex.message;
      err.hidden = false;
    }
  });
  return h('section', { class: 'panel case-panel', id: 'case-note', 'aria-labelledby': 'case-note-title' }, h('h2', { class: 'panel-title', id: 'case-note-title' }, staff ? '备注' : '留言'), form);
}

/* ---------- deadline and facts ---------- */

function deadlinePanel(view) {
  const { c } = view;
  const rows = [];
  const promise = c.promise_hours ? `${num(c.promise_hours)} 个工作小时` : c.promise_days !== null && c.promise_days !== undefined ? daysText(c.promise_days) : '';
  const legal = c.legal_days !== null && c.legal_days !== undefined ? daysText(c.legal_days) : '';
  let big = null;
  const closed = ['approved', 'denied', 'delivered', 'withdrawn', 'rejected_at_intake'].includes(c.status);
  if (c.deadline_at && !closed) {
    big = h(
      'div',
      { class: ['deadline-big', c.due === 'overdue' ? 'is-overdue' : c.due === 'due_soon' ? 'is-due-soon' : null], id: 'case-deadline' },
      h('p', { class: 'deadline-big-label' }, c.status === 'suspended' ? '办结时限（已暂停计时）' : '办结时限'),
      h('p', { class: 'deadline-big-at' }, fmtMinute(c.deadline_at)),
      c.due ? h('p', { class: 'deadline-big-left' }, dueBadge(c), ' ', remainingText(c)) : null,
    );
  } else if (!closed) {
    big = h('div', { class: 'deadline-big', id: 'case-deadline' }, h('p', { class: 'deadline-big-label' }, '办结时限'), h('p', { class: 'deadline-big-left' }, '受理后开始按工作日计算'));
  } else if (c.deadline_at && (c.decided_at || c.closed_at)) {
    const end = c.decided_at || c.closed_at;
    const onTime = end <= c.deadline_at;
    big = h(
      'div',
      { class: ['deadline-big', onTime ? 'is-done' : 'is-overdue'], id: 'case-deadline' },
      h('p', { class: 'deadline-big-label' }, '办结时限'),
      h('p', { class: 'deadline-big-at' }, fmtMinute(c.deadline_at)),
      h('p', { class: 'deadline-big-left' }, onTime ? h('span', { class: 'due-flag due-ok' }, '按时办结') : h('span', { class: 'due-flag due-overdue' }, '超期办结')),
    );
  }
  if (promise) rows.push(['承诺时限', promise]);
  if (legal && !c.promise_hours) rows.push(['法定时限', legal]);
  if (c.clock_start) rows.push(['起算时间', fmtMinute(c.clock_start)]);
  if (c.suspended_seconds > 0) rows.push(['中止时长', `${num(c.suspended_seconds / 3600)} 个工作小时（不计入时限）`]);
  let clock = null;
  if (c.promise_hours && c.working_hours_used !== undefined && c.working_hours_used !== null) {
    const used = Math.min(Number(c.working_hours_used), Number(c.promise_hours));
    clock = h(
      'div',
      { class: 'hour-clock' },
      h('label', { for: `clock-${c.id}`, class: 'progress-label' }, `已用 ${num(c.working_hours_used)} / ${num(c.promise_hours)} 个工作小时`),
      h('meter', { id: `clock-${c.id}`, class: 'meter', min: '0', max: String(c.promise_hours), low: String(c.promise_hours * 0.75), high: String(c.promise_hours * 0.99), optimum: '0', value: String(used) }, `${num(used)}`),
    );
  }
  return h(
    'section',
    { class: 'panel case-panel', 'aria-labelledby': 'case-due-title' },
    h('h2', { class: 'panel-title', id: 'case-due-title' }, '办理时限'),
    big,
    clock,
    rows.length ? h('dl', { class: 'kv kv-tight' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])) : null,
  );
}

function infoPanel(view) {
  const { c, towns } = view;
  const rows = [
    ['申请人', c.applicant ? c.applicant.display_name : ''],
    ['代办人', c.agent ? c.agent.display_name : ''],
    ['申请方式', CHANNELS[c.channel] || c.channel],
    ['办理部门', c.department],
    ['所在乡镇', c.town_code ? towns.get(c.town_code) || c.town_code : ''],
    ['办理程序', PATHS[c.path] || c.path],
    ['提交时间', c.submitted_at ? fmtDateTime(c.submitted_at) : ''],
    ['受理时间', c.accepted_at ? fmtDateTime(c.accepted_at) : ''],
    ['决定时间', c.decided_at ? fmtDateTime(c.decided_at) : ''],
    ['办结时间', c.delivered_at ? fmtDateTime(c.delivered_at) : ''],
    ['经办人', c.assignee ? c.assignee.display_name : ''],
  ].filter(([, v]) => v);
  return h(
    'section',
    { class: 'panel case-panel', 'aria-labelledby': 'case-info-title' },
    h('h2', { class: 'panel-title', id: 'case-info-title' }, '基本信息'),
    h('dl', { class: 'kv kv-tight', id: 'case-info' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    c.item_code ? h('p', { class: 'case-guide-link' }, h('a', { href: `/items/${encodeURIComponent(c.item_code)}` }, '查看办事指南')) : null,
  );
}

/* ---------- materials, form, members ---------- */

function materialsTable(view) {
  const mats = view.c.materials || [];
  if (!mats.length) return h('p', null, '本事项无需提交材料。');
  const cols = ['序号', '材料名称', '是否必需', '提供方式'];
  const waived = mats.filter((m) => Number(m.waived)).length;
  return [
    waived ? h('p', { class: 'materials-note' }, h('span', { class: 'badge badge-free' }, '免提交'), ` ${waived} 项材料无需提交（电子证照调取或告知承诺）。`) : null,
    h(
      'div',
      { class: 'table-scroll materials-scroll' },
      h(
        'table',
        { class: 'table materials case-materials', id: 'case-materials' },
        h('caption', { class: 'visually-hidden' }, '申请材料及提供方式'),
        h('thead', null, h('tr', null, cols.map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          mats.map((m) =>
            h(
              'tr',
              { class: Number(m.waived) ? 'is-free' : null, dataset: { by: m.satisfied_by } },
              h('td', { class: 'num', dataset: { label: cols[0] } }, String(Number(m.idx) + 1)),
              h('th', { scope: 'row', class: 'mat-name' }, m.name),
              h('td', { dataset: { label: cols[2] } }, Number(m.required) ? h('span', { class: 'req-yes' }, '必需') : h('span', { class: 'muted' }, '非必需')),
              h('td', { class: 'mat-free', dataset: { label: cols[3] } }, materialHow(m, view.licences)),
            ),
          ),
        ),
      ),
    ),
  ];
}

function formValues(view) {
  const form = view.c.form || {};
  const keys = Object.keys(form).filter((k) => form[k] !== '' && form[k] !== null && form[k] !== undefined);
  if (!keys.length) return h('p', { class: 'muted' }, '无。');
  return h(
    'dl',
    { class: 'kv', id: 'case-form' },
    keys.map((k) => [h('dt', null, view.labels.get(k) || k), h('dd', null, k === 'id_number' || k === 'credit_code' ? secret(String(form[k])) : String(form[k]))]),
  );
}

/** A personal number shown masked until asked for (shoulder-surfing guard). */
function secret(value) {
  const masked = maskMiddle(value, 4, 4);
  if (masked === value) return h('span', { class: 'mono' }, value);
  const text = h('span', { class: 'mono' }, masked);
  const btn = h('button', { type: 'button', class: 'btn btn-link btn-small', 'aria-pressed': 'false' }, '显示');
  btn.addEventListener('click', () => {
    const on = btn.getAttribute('aria-pressed') !== 'true';
    btn.setAttribute('aria-pressed', on ? 'true' : 'false');
    btn.textContent = on ? '隐藏' : '显示';
    text.textContent = on ? value : masked;
  });
  return h('span', { class: 'secret' }, text, ' ', btn);
}

function membersSection(view) {
  const { c } = view;
  const p = c.progress || { done: 0, total: (c.members || []).length };
  return h(
    'section',
    { class: 'case-section panel', id: 'case-members', 'aria-labelledby': 'case-members-title' },
    h('h2', { class: 'panel-title', id: 'case-members-title' }, '“一件事”办理进度'),
    progressBar(p.done, p.total, '已办结事项'),
    h(
      'ol',
      { class: 'member-list' },
      (c.members || []).map((m) =>
        h(
          'li',
          { class: 'member', dataset: { status: m.status } },
          h('a', { href: `/cases/${m.id}`, class: 'member-name' }, m.item_name),
          h('span', { class: 'member-dept muted' }, m.department),
          h(
            'span',
            { class: 'member-state' },
            // A sequential bundle submits each member once the one before it is approved.
            m.status === 'draft' && c.status !== 'draft' && c.status !== 'withdrawn'
              ? h('span', { class: 'case-status tone-muted', dataset: { status: 'queued' } }, '等待前一事项')
              : statusBadge(m),
            dueBadge(m, { quiet: true }),
          ),
        ),
      ),
    ),
  );
}

/* ---------- 好差评 ---------- */

const LEVELS = [
  [5, '非常满意'],
  [4, '满意'],
  [3, '基本满意'],
  [2, '不满意'],
  [1, '非常不满意'],
];

function ratingSection(view) {
  const r = view.rating;
  const title = '服务评价（好差评）';
  if (r.rating) {
    const dims = r.dimensions || [];
    const label = (k) => (dims.find((d) => d.key === k) || {}).label || k;
    const lvl = (n) => (LEVELS.find(([v]) => v === Number(n)) || [0, String(n)])[1];
    return section(
      'rating',
      title,
      h(
        'div',
        { class: 'rating-done', id: 'rating-done' },
        h('p', null, view.owner ? '您的评价：' : '申请人评价：', h('strong', { class: `rating-level level-${r.rating.overall}` }, r.rating.overall_label || lvl(r.rating.overall))),
        h('dl', { class: 'kv kv-tight' }, Object.entries(r.rating.dims || {}).map(([k, v]) => [h('dt', null, label(k)), h('dd', null, lvl(v))])),
        r.rating.comment ? h('p', { class: 'rating-comment' }, `“${r.rating.comment}”`) : null,
        r.ticket ? h('p', { class: 'hint' }, `差评已转交${r.ticket.department || '办理部门'}：将回访并在 5 个工作日内整改，结果会告知您。`) : null,
      ),
    );
  }
  if (!view.owner || !r.can_rate) return null;
  return section('rating', title, ratingForm(view));
}

function ratingForm(view) {
  const r = view.rating;
  const dims = r.dimensions && r.dimensions.length ? r.dimensions : [{ key: 'overall', label: '整体满意度' }];
  const alert = h('div', { class: 'form-alert', role: 'alert', hidden: true });
  const groups = dims.map((d) => {
    const name = d.key === 'overall' ? 'overall' : `dims.${d.key}`;
    const g = h(
      'fieldset',
      { class: 'rating-group', dataset: { key: d.key } },
      h('legend', null, d.label, h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
      h(
        'div',
        { class: 'rating-options' },
        LEVELS.map(([v, text]) => {
          const id = nextId(`rate-${d.key}`);
          return h('span', { class: 'rating-option' }, h('input', { type: 'radio', name, id, value: String(v), class: 'rating-radio' }), h('label', { for: id, class: `rating-label level-${v}` }, text));
        }),
      ),
      h('p', { class: 'field-error', hidden: true }),
    );
    g.addEventListener('change', () => {
      g.querySelector('.field-error').hidden = true;
    });
    return g;
  });
  const cid = nextId('rate-comment');
  const comment = h('textarea', { id: cid, name: 'comment', rows: '3', maxlength: '500' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'rating-submit' }, '提交评价');
  const form = h(
    'form',
    { class: 'form rating-form', id: 'rating-form', novalidate: true },
    h('p', { class: 'hint' }, '请对本次办事服务作出评价（1 个“非常不满意”到 5 个“非常满意”）。“不满意”和“非常不满意”会转交办理部门回访整改。'),
    alert,
    groups,
    h('div', { class: 'field' }, h('label', { for: cid }, '意见建议', h('span', { class: 'opt' }, '（选填）')), comment),
    h('div', { class: 'form-actions' }, btn),
  );
  const groupError = (key, message) => {
    const g = form.querySelector(`.rating-group[data-key="${key}"]`);
    if (!g) return false;
    const p = g.querySelector('.field-error');
    p.textContent = message;
    p.hidden = false;
    g.querySelector('input').focus();
    return true;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    alert.hidden = true;
    for (const p of form.querySelectorAll('.field-error')) p.hidden = true;
    const body = { overall: 0, dims: {} };
    const missing = [];
    for (const d of dims) {
      const checked = form.querySelector(`input[name="${d.key === 'overall' ? 'overall' : `dims.${d.key}`}"]:checked`);
      if (!checked) missing.push(d);
      else if (d.key === 'overall') body.overall = Number(checked.value);
      else body.dims[d.key] = Number(checked.value);
    }
    if (missing.length) {
      for (const d of [...missing].reverse()) groupError(d.key, `请评价“${d.label}”`);
      return;
    }
    if (comment.value.trim()) body.comment = comment.value.trim();
    btn.disabled = true;
    try {
      const out = await post(`/api/v1/cases/${view.c.id}/rating`, body);
      view.rating = out;
      draw(view, { focus: true });
      replace(view.status, notice('ok', out.ticket_opened ? '感谢您的评价。您的意见已转交办理部门回访整改。' : '感谢您的评价！'));
    } catch (ex) {
      btn.disabled = false;
      const key = ex.field && ex.field.startsWith('dims.') ? ex.field.slice(5) : ex.field;
      if (!(key && groupError(key, ex.message))) {
        alert.textContent = ex.message;
        alert.hidden = false;
      }
    }
  });
  return form;
}
