/* /assist/{id} — one assisted request (帮办代办) for whoever may see it (the
 * resident, the assigned agent, staff; the API answers 404 to anyone else).
 *
 * Shows the status in plain words, the agent and why the dispatcher chose them
 * ("俞海峰: 同镇, 12 分钟可达, 当前 2 件"), when they can be there, the SLA, the
 * timeline, and the actions the caller may take now (the request's `actions`):
 * the agent accepts, declines, starts, waits on a department, resumes, finishes
 * with an optional photo; the resident consents to an application on their
 * behalf or cancels; staff reassign; anyone who sees it adds a note. For the
 * agent, the next ferry from their position to the resident (GET /api/v1/travel).
 * While the request is open the page refreshes itself every 15 seconds, so a
 * resident watching it sees the agent accept without reloading. */
import { get, post } from '../api.js';
import {
  ACTION_LABELS,
  assistTimeline,
  CHANNELS,
  dueText,
  fmtShort,
  placeText,
  STATUS_HINTS,
  statusBadge,
  travelHint,
  URGENCY,
} from '../assist.js';
import { askReason, uploadFile } from '../cases.js';
import { clearFormErrors, field, h, maskMiddle, notice, replace, showFormError } from '../dom.js';
import * as session from '../session.js';

const REFRESH_MS = 15000;
// Actions with their own control (not a plain button in the action bar).
const SPECIAL = new Set(['complete', 'consent', 'note', 'open_case', 'reassign']);
const NEEDS_NOTE = new Set(['wait', 'decline', 'cancel']);

export async function render(main, ctx) {
  const id = ctx.route.id;
  ctx.setTitle('帮办代办');
  const box = h('div', { class: 'assist-page' }, h('p', { class: 'loading' }, '正在加载…'));
  replace(main, box);
  let timer = 0;
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));

  async function load(flash) {
    let r;
    try {
      r = await get(`/api/v1/assist/${encodeURIComponent(id)}`, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(box, notice('error', e.status === 404 ? '找不到该预约，或您无权查看。' : `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    show(r, flash);
    clearTimeout(timer);
    if (r.status !== 'done' && r.status !== 'cancelled') timer = setTimeout(() => load(), REFRESH_MS);
  }

  async function act(r, action, body = {}) {
    try {
      await post(`/api/v1/assist/${r.id}/actions/${action}`, { version: r.version, ...body });
      if (action === 'decline') {
        ctx.navigate('/agent?declined=1');
        return;
      }
      await load(`已${ACTION_LABELS[action] || action}`);
    } catch (e) {
      await load();
      replace(flashBox(), notice('error', e.message || '操作失败'));
    }
  }

  function flashBox() {
    return box.querySelector('#assist-flash') || box;
  }

  function show(r, flash) {
    const u = session.user();
    const isAgent = u && u.role === 'agent';
    const actions = r.actions || [];
    const bar = h('div', { class: 'assist-actions', id: 'assist-actions' });
    for (const a of actions.filter((x) => !SPECIAL.has(x))) {
      bar.append(
        h(
          'button',
          {
            type: 'button',
            class: ['btn', a === 'accept' || a === 'start' || a === 'resume' ? 'btn-primary' : a === 'cancel' || a === 'decline' ? 'btn-danger-ghost' : 'btn-secondary'],
            dataset: { action: a },
            on: {
              click: async () => {
                if (NEEDS_NOTE.has(a)) {
                  const note = await askReason({ host: document.body, title: ACTION_LABELS[a], label: a === 'wait' ? '等待哪个部门、办到哪一步' : '原因', required: a === 'wait' });
                  if (note === null || note === undefined) return;
                  await act(r, a, note ? { note } : {});
                } else {
                  await act(r, a);
                }
              },
            },
          },
          ACTION_LABELS[a] || a,
        ),
      );
    }
    if (actions.includes('complete')) bar.append(completeForm(r));
    if (actions.includes('reassign')) bar.append(reassignForm(r));

    const consent =
      actions.includes('consent') && !r.consent
        ? h(
            'div',
            { class: 'assist-consent card' },
            h('p', null, '如需代办员代您在网上提交申请，请先授权。授权只用于本次事项，可随时取消预约。'),
            h(
              'button',
              { type: 'button', class: 'btn btn-primary', id: 'assist-consent', on: { click: () => consentNow(r) } },
              u && u.role === 'citizen' ? '我同意代为申请' : '记录居民已口头同意',
            ),
          )
        : null;

    const agent = r.agent
      ? h(
          'section',
          { class: 'assist-agent card', id: 'assist-agent' },
          h('h2', null, '代办员'),
          h('p', { class: 'assist-agent-name' }, r.agent.name, r.agent.station_name ? h('span', { class: 'muted' }, ` · ${r.agent.station_name}`) : null),
          r.agent.phone ? h('p', null, '电话：', h('a', { href: `tel:${r.agent.phone}` }, r.agent.phone)) : null,
          r.dispatch && r.dispatch.reason ? h('p', { class: 'assist-reason', id: 'assist-reason' }, '派单依据：', r.dispatch.reason) : null,
          r.dispatch && r.dispatch.eta_at ? h('p', null, r.remote ? '网上办理，预计开始：' : '预计上门：', fmtShort(r.dispatch.eta_at)) : null,
        )
      : h('section', { class: 'assist-agent card', id: 'assist-agent' }, h('h2', null, '代办员'), h('p', { class: 'muted' }, r.waiting || '正在为您寻找代办员。'));

    const travel = isAgent && r.status !== 'done' && r.status !== 'cancelled' && !r.remote ? h('p', { class: 'assist-travel', id: 'assist-travel' }, '正在查询渡轮…') : null;
    if (travel) {
      get('/api/v1/me/agent')
        .then((me) => travelHint((me.position && me.position.island_id) || me.station_id, r.village && r.village.code))
        .then((t) => {
          travel.textContent = t ? t.text : '暂时查不到去程，请电话联系居民。';
          if (t && t.ferry) travel.classList.add('assist-travel-ferry');
        })
        .catch(() => travel.remove());
    }

    const resident = r.resident || {};
    const sla = r.sla || {};
    const open = r.status !== 'done' && r.status !== 'cancelled';
    replace(
      box,
      h(
        'div',
        { class: 'page-head' },
        h('h1', { class: 'page-title', tabindex: '-1' }, r.item_name || '帮办代办'),
        h('p', { class: 'page-sub' }, `预约编号 ${r.request_no}`, ' · ', statusBadge(r.status, r.status_label)),
      ),
      h('div', { id: 'assist-flash' }, flash ? notice('ok', flash) : ctx.params.get('created') ? notice('ok', r.agent ? `预约已提交，已派给代办员 ${r.agent.name}。` : '预约已提交，正在为您安排代办员。') : null),
      h('p', { class: 'assist-hint', id: 'assist-hint' }, STATUS_HINTS[r.status] || ''),
      bar.childNodes.length ? bar : null,
      consent,
      travel,
      h(
        'div',
        { class: 'assist-grid' },
        h(
          'section',
          { class: 'card assist-facts' },
          h('h2', null, '预约信息'),
          h(
            'dl',
            { class: 'assist-dl' },
            h('dt', null, '居民'),
            h('dd', null, resident.name || '', resident.phone ? ` · ${isAgent || !resident.id ? resident.phone : maskMiddle(resident.phone, 3, 4)}` : ''),
            h('dt', null, '地点'),
            h('dd', null, placeText(r), r.address ? ` · ${r.address}` : ''),
            h('dt', null, '方式'),
            h('dd', null, CHANNELS[r.channel] || r.channel, ' · ', URGENCY[r.urgency] || r.urgency, r.remote ? ' · 网上代办（无需上门）' : ''),
            r.preferred_at ? h('dt', null, '希望时间') : null,
            r.preferred_at ? h('dd', null, fmtShort(r.preferred_at)) : null,
            r.description ? h('dt', null, '需求') : null,
            r.description ? h('dd', null, r.description) : null,
            open && sla.accept_due && r.status !== 'in_progress' && !r.accepted_at ? h('dt', null, '接单时限') : null,
            open && sla.accept_due && r.status !== 'in_progress' && !r.accepted_at ? h('dd', { class: sla.accept_overdue ? 'overdue' : '' }, fmtShort(sla.accept_due), '（', dueText(sla.accept_due), '）') : null,
            open && sla.done_due ? h('dt', null, '办结时限') : null,
            open && sla.done_due ? h('dd', { class: sla.done_overdue ? 'overdue' : '' }, fmtShort(sla.done_due), '（', dueText(sla.done_due), '）') : null,
            r.case ? h('dt', null, '网上申请') : null,
            r.case ? h('dd', null, h('a', { href: `/cases/${r.case.id}` }, r.case.case_no)) : null,
            r.consent ? h('dt', null, '代办授权') : null,
            r.consent ? h('dd', null, `已于 ${fmtShort(r.consent.at)} 授权`) : null,
          ),
        ),
        agent,
      ),
      h('section', { class: 'card' }, h('h2', null, '办理记录'), assistTimeline(r.events)),
      // The assigned agent may apply for the resident once they consent (open_case).
      r.item_code && !r.case && r.resident && r.resident.id && (actions.includes('open_case') || (isAgent && ['accepted', 'in_progress', 'waiting_on_department'].includes(r.status)))
        ? caseForm(r)
        : null,
      actions.includes('note') ? noteForm(r) : null,
    );
  }

  /* 代为网上申请: the agent fills the item's online form for the resident (who
   * consented) and submits it through POST /api/v1/assist/{id}/case; the server
   * reuses the resident's e-licences (免提交) and files it as channel assisted. */
  function caseForm(r) {
    const holder = h('section', { class: 'card assist-case', id: 'assist-case' }, h('h2', null, '代为网上申请'));
    if (!r.consent) {
      holder.append(h('p', { class: 'muted' }, '居民授权后才能代为申请：请居民在本页点“我同意代为申请”，或由工作人员记录电话授权。'));
      return holder;
    }
    const form = h('form', { class: 'form', id: 'assist-case-form', novalidate: true });
    const alertBox = h('div', { 'aria-live': 'polite' });
    holder.append(h('p', { class: 'hint' }, '按居民提供的信息填写；能从电子证照库调取的材料免提交，其余材料办理时现场收取。'), alertBox, form);
    get(`/api/v1/items/${encodeURIComponent(r.item_code)}/form`)
      .then((def) => {
        const prefill = { name: r.resident && r.resident.name, phone: r.resident && r.resident.phone, address: r.address };
        const controls = [];
        for (const f of (def && def.fields) || []) {
          const opts = { label: f.label, name: f.name, required: !!f.required, value: prefill[f.name] || '' };
          if (f.type === 'select') opts.options = [{ value: '', label: '请选择' }, ...(f.options || []).map((o) => ({ value: o, label: o }))];
          else if (f.type === 'textarea') opts.multiline = true;
          else if (f.type === 'date') opts.type = 'date';
          else if (f.type === 'number') opts.type = 'number';
          const el = field(opts);
          controls.push([f, el]);
          form.append(el);
        }
        const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, '提交申请');
        form.append(submit);
        form.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          clearFormErrors(form);
          const values = {};
          for (const [f, el] of controls) {
            const v = el.control.value.trim();
            if (v) values[f.name] = f.type === 'number' ? Number(v) : v;
          }
          submit.disabled = true;
          try {
            await post(`/api/v1/assist/${r.id}/case`, { form: values, submit: true });
            await load('已代为提交网上申请');
          } catch (e) {
            const name = (e.field || '').replace(/^form\./, '');
            if (name && form.querySelector(`[name="${name}"]`)) showFormError(form, { field: name, message: e.message });
            else replace(alertBox, notice('error', e.message || '提交失败'));
            submit.disabled = false;
          }
        });
      })
      .catch(() => replace(alertBox, notice('error', '申请表加载失败')));
    return holder;
  }

  function completeForm(r) {
    const file = h('input', { type: 'file', accept: 'image/jpeg,image/png', capture: 'environment', id: 'assist-photo', 'aria-label': '办结照片（选填）' });
    const btn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { action: 'complete' } }, '办结');
    const f = h(
      'form',
      { class: 'assist-complete', id: 'assist-complete' },
      h('label', { for: 'assist-photo' }, '办结照片（选填，如回执或材料交接）'),
      file,
      btn,
    );
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      btn.disabled = true;
      try {
        const body = {};
        if (file.files && file.files[0]) body.file_id = (await uploadFile(file.files[0])).id;
        await act(r, 'complete', body);
      } catch (e) {
        replace(flashBox(), notice('error', e.message || '上传失败'));
        btn.disabled = false;
      }
    });
    return f;
  }

  function reassignForm(r) {
    const input = h('input', { type: 'number', min: '1', id: 'assist-reassign-agent', placeholder: '代办员编号（不填则重新自动派单）', inputmode: 'numeric' });
    const f = h('form', { class: 'assist-reassign' }, h('label', { for: 'assist-reassign-agent' }, '改派'), input, h('button', { type: 'submit', class: 'btn btn-secondary' }, '改派'));
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const n = parseInt(input.value, 10);
      await act(r, 'reassign', Number.isFinite(n) ? { agent_id: n } : {});
    });
    return f;
  }

  function noteForm(r) {
    const ta = h('textarea', { id: 'assist-note', rows: '2', maxlength: '500', placeholder: '补充说明，双方都能看到' });
    const f = h('form', { class: 'card assist-note-form' }, h('label', { for: 'assist-note' }, '添加备注'), ta, h('button', { type: 'submit', class: 'btn btn-secondary' }, '保存备注'));
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = ta.value.trim();
      if (!text) return;
      try {
        await post(`/api/v1/assist/${r.id}/notes`, { text });
        await load('备注已保存');
      } catch (e) {
        replace(flashBox(), notice('error', e.message));
      }
    });
    return f;
  }

  async function consentNow(r) {
    const u = session.user();
    try {
      await post(`/api/v1/assist/${r.id}/consent`, u && u.role === 'citizen' ? { method: 'online' } : { method: 'phone' });
      await load('已记录授权');
    } catch (e) {
      replace(flashBox(), notice('error', e.message));
    }
  }

  await load();
}
