/* /agent — 我的任务: the agent's phone inbox (帮办代办员).
 *
 * At the top the agent's duty switch (PUT /api/v1/me/agent {on_duty}); going
 * off duty hands back the tasks not yet accepted. Below, the open tasks (GET
 * /api/v1/assist?status=open: an agent gets the ones assigned to them), new ones
 * first, each with the place, urgency, the time left to accept, the dispatcher's
 * reason, the next ferry from the agent's position (GET /api/v1/travel) and
 * one-tap 接单 / 退回. New tasks arrive live over Server-Sent Events
 * (/api/v1/me/agent/events: `task`, `task_withdrawn`) and the list reloads; a
 * banner says what arrived. Built for a phone held in one hand. */
import { get, post, put, withQuery } from '../api.js';
import { dueText, fmtShort, placeText, statusBadge, travelHint, URGENCY } from '../assist.js';
import { askReason } from '../cases.js';
import { h, notice, replace } from '../dom.js';

export async function render(main, ctx) {
  ctx.setTitle('我的任务');
  const head = h('div', { class: 'agent-head', id: 'agent-head' });
  const banner = h('div', { id: 'agent-banner', 'aria-live': 'polite' });
  const box = h('div', { class: 'agent-tasks' }, h('p', { class: 'loading' }, '正在加载任务…'));
  replace(main, h('h1', { class: 'page-title', tabindex: '-1' }, '我的任务'), head, banner, box);
  if (ctx.params.get('declined')) replace(banner, notice('ok', '已退回，系统会改派给其他代办员。'));

  let me;
  try {
    me = await get('/api/v1/me/agent', { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(box, notice('error', e.status === 404 ? '您的账号尚未登记为代办员，请联系所在乡镇。' : `加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  const from = (me.position && me.position.island_id) || me.station_id;

  function showHead() {
    const sw = h('input', { type: 'checkbox', id: 'agent-duty', role: 'switch', checked: !!me.on_duty, 'aria-describedby': 'agent-duty-hint' });
    sw.addEventListener('change', async () => {
      sw.disabled = true;
      try {
        me = { ...me, ...(await put('/api/v1/me/agent', { on_duty: sw.checked })) };
        replace(banner, notice('ok', sw.checked ? '已上岗，可以接收新任务。' : '已离岗，未接单的任务已交回派单。'));
        await loadTasks();
      } catch (e) {
        sw.checked = !sw.checked;
        replace(banner, notice('error', e.message));
      } finally {
        sw.disabled = false;
        showHead();
      }
    });
    replace(
      head,
      h('p', { class: 'agent-who' }, h('strong', null, me.name), ' · ', me.station_name || '', ' · ', me.kind === 'full_time' ? '专职' : '兼职'),
      h('label', { class: 'agent-duty', for: 'agent-duty' }, sw, h('span', null, me.on_duty ? '在岗' : '离岗')),
      h('p', { class: 'hint', id: 'agent-duty-hint' }, `当前 ${me.open_tasks ?? 0} 件 / 上限 ${me.capacity ?? '-'} 件 · 工作时间 ${me.hours || ''}`),
    );
  }
  showHead();

  async function loadTasks() {
    let r;
    try {
      r = await get(withQuery('/api/v1/assist', { status: 'open', limit: 50 }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(box, notice('error', `任务加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    // New (dispatched) first, then by the accept/done deadline.
    const order = { dispatched: 0, accepted: 1, in_progress: 2, waiting_on_department: 3 };
    const items = (r.items || []).sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9) || String(a.sla?.accept_due).localeCompare(String(b.sla?.accept_due)));
    if (!items.length) {
      replace(box, h('div', { class: 'empty' }, h('p', null, me.on_duty ? '暂无任务。新任务会自动出现在这里，并有短信提醒。' : '您已离岗，不会收到新任务。')));
      return;
    }
    replace(box, h('ul', { class: 'agent-task-list', id: 'agent-task-list' }, items.map(taskCard)));
  }

  function taskCard(t) {
    const hint = h('p', { class: 'agent-ferry muted' }, t.remote ? '网上代办，无需出行。' : '正在查询渡轮…');
    if (!t.remote) {
      travelHint(from, t.village && t.village.code, ctx.signal).then((x) => {
        hint.textContent = x ? x.text : '暂时查不到去程。';
        if (x && x.ferry) hint.classList.add('assist-travel-ferry');
      });
    }
    const quick =
      t.status === 'dispatched'
        ? h(
            'div',
            { class: 'agent-quick' },
            h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'accept' }, on: { click: () => quickAct(t, 'accept') } }, '接单'),
            h('button', { type: 'button', class: 'btn btn-danger-ghost', dataset: { action: 'decline' }, on: { click: () => quickAct(t, 'decline') } }, '退回'),
          )
        : null;
    return h(
      'li',
      { class: ['card', 'agent-task', t.urgency === 'urgent' && 'agent-task-urgent'], dataset: { id: t.id, status: t.status } },
      h('a', { class: 'agent-task-link', href: `/assist/${t.id}` }, h('strong', null, t.item_name || '帮办代办'), ' ', statusBadge(t.status, t.status_label)),
      h('p', null, placeText(t), t.urgency === 'urgent' ? h('span', { class: 'badge badge-urgent' }, URGENCY.urgent) : null),
      t.status === 'dispatched' && t.sla && t.sla.accept_due ? h('p', { class: t.sla.accept_overdue ? 'overdue' : 'muted' }, `接单时限 ${fmtShort(t.sla.accept_due)}（${dueText(t.sla.accept_due)}）`) : null,
      t.preferred_at ? h('p', { class: 'muted' }, `居民希望 ${fmtShort(t.preferred_at)}`) : null,
      hint,
      quick,
    );
  }

  async function quickAct(t, action) {
    let body = { version: t.version };
    if (action === 'decline') {
      const note = await askReason({ host: document.body, title: '退回任务', label: '原因（选填）', required: false });
      if (note === null) return;
      if (note) body.note = note;
    }
    try {
      await post(`/api/v1/assist/${t.id}/actions/${action}`, body);
      replace(banner, notice('ok', action === 'accept' ? `已接单：${t.item_name || t.request_no}` : '已退回，系统会改派。'));
    } catch (e) {
      replace(banner, notice('error', e.message));
    }
    await loadTasks();
  }

  // Live: new and withdrawn tasks.
  if (typeof EventSource !== 'undefined') {
    const es = new EventSource('/api/v1/me/agent/events');
    ctx.signal.addEventListener('abort', () => es.close());
    es.addEventListener('task', (ev) => {
      let d = {};
      try {
        d = JSON.parse(ev.data);
      } catch {
        /* a malformed event only reloads the list */
      }
      replace(banner, notice('ok', `新任务：${d.item_name || ''} ${d.place || ''}`));
      loadTasks();
    });
    es.addEventListener('task_withdrawn', () => {
      replace(banner, notice('ok', '有任务已被取消或改派。'));
      loadTasks();
    });
  }
  await loadTasks();
}
