/* /screen/cases/{id} — an investigation case (立案) of 防围串标: its alerts (each
 * linking to its evidence), the record of notes, evidence and decisions, forms to
 * add to it or attach another alert, closing with a decision, and the PDF dossier.
 * Supervisors and admins only. */
import { get, post } from '../api.js';
import { clearFormErrors, h, notice, replace, showFormError } from '../dom.js';
import { reasonList } from './screen-alerts.js';

const KINDS = { note: '调查记录', evidence: '证据', decision: '决定' };

export async function render(main, ctx) {
  ctx.setTitle('案件');
  const box = h('div', { class: 'screen-page' }, h('p', { class: 'loading' }, '正在加载…'));
  replace(main, box);

  async function load(flash) {
    let c;
    try {
      c = await get(`/api/v1/screen/cases/${encodeURIComponent(ctx.route.id)}`, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(box, notice('error', e.status === 404 ? '案件不存在。' : `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    show(c, flash);
  }

  function form(id, label, fields, submitText, onSubmit) {
    const f = h('form', { class: 'form card', id, novalidate: true }, h('h2', null, label), h('div', { class: 'form-alert', role: 'alert', hidden: true }), ...fields, h('button', { type: 'submit', class: 'btn btn-primary' }, submitText));
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFormErrors(f);
      try {
        await onSubmit(f);
      } catch (e) {
        showFormError(f, e);
      }
    });
    return f;
  }

  function show(c, flash) {
    const open = c.status === 'open';
    const entryForm = form(
      'screen-entry-form',
      '添加记录',
      [
        h('div', { class: 'field' }, h('label', { for: 'screen-entry-kind' }, '类型'), h('select', { id: 'screen-entry-kind', name: 'kind' }, ['note', 'evidence'].map((k) => h('option', { value: k }, KINDS[k])))),
        h('div', { class: 'field' }, h('label', { for: 'screen-entry-text' }, '内容'), h('textarea', { id: 'screen-entry-text', name: 'text', rows: '4', maxlength: '4000', required: true }), h('p', { class: 'field-error', hidden: true })),
      ],
      '保存',
      async (f) => {
        await post(`/api/v1/screen/cases/${c.id}/entries`, { kind: f.elements.kind.value, text: f.elements.text.value.trim() });
        await load('记录已保存');
      },
    );
    const attachForm = form(
      'screen-attach-form',
      '并案',
      [h('div', { class: 'field' }, h('label', { for: 'screen-attach-id' }, '预警编号'), h('input', { id: 'screen-attach-id', name: 'alert_id', type: 'number', min: '1', inputmode: 'numeric' }), h('p', { class: 'field-error', hidden: true }))],
      '加入本案',
      async (f) => {
        await post(`/api/v1/screen/cases/${c.id}/alerts`, { alert_id: Number(f.elements.alert_id.value) });
        await load('已并案');
      },
    );
    const closeForm = form(
      'screen-close-form',
      '结案',
      [h('div', { class: 'field' }, h('label', { for: 'screen-decision' }, '处理决定'), h('textarea', { id: 'screen-decision', name: 'decision', rows: '3', maxlength: '4000', required: true }), h('p', { class: 'field-error', hidden: true }))],
      '结案',
      async (f) => {
        await post(`/api/v1/screen/cases/${c.id}/close`, { decision: f.elements.decision.value.trim() });
        await load('已结案');
      },
    );
    replace(
      box,
      h('nav', { class: 'breadcrumb', 'aria-label': '当前位置' }, h('ol', null, h('li', null, h('a', { href: '/screen' }, '防围串标')), h('li', { 'aria-current': 'page' }, c.case_no))),
      h(
        'div',
        { class: 'page-head page-head-row' },
        h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, c.title), h('p', { class: 'page-sub' }, `${c.case_no} · `, h('span', { class: 'badge', id: 'screen-case-status', dataset: { status: c.status } }, c.status_label), ` · 立案人 ${c.opened_by} · ${c.opened_at.slice(0, 10)}`)),
        h('a', { class: 'btn btn-secondary', href: `/api/v1/screen/cases/${c.id}/dossier.pdf`, id: 'screen-dossier', download: `${c.case_no}.pdf` }, '导出卷宗 PDF'),
      ),
      h('div', { id: 'screen-flash', 'aria-live': 'polite' }, flash ? notice('ok', flash) : ctx.params.get('opened') ? notice('ok', '已立案，可在下方添加调查记录和证据。') : null),
      c.decision ? h('section', { class: 'card' }, h('h2', null, '处理决定'), h('p', null, c.decision)) : null,
      h(
        'section',
        { class: 'card', id: 'screen-case-alerts' },
        h('h2', null, `涉案项目（${c.alerts.length}）`),
        h('ul', { class: 'screen-list' }, c.alerts.map((a) => h('li', null, h('a', { href: `/screen/alerts/${a.id}` }, `${a.tender.tender_no} ${a.tender.title}`), h('ul', { class: 'screen-reasons' }, reasonList(a.reasons).slice(0, 3).map((x) => h('li', null, x)))))),
      ),
      h(
        'section',
        { class: 'card', id: 'screen-entries' },
        h('h2', null, '调查记录'),
        c.entries.length
          ? h('ol', { class: 'timeline' }, c.entries.map((en, i) => h('li', { class: ['tl-item', i === c.entries.length - 1 && 'tl-last'], dataset: { kind: en.kind } }, h('span', { class: 'tl-dot', 'aria-hidden': 'true' }), h('div', { class: 'tl-body' }, h('p', { class: 'tl-head' }, h('strong', null, KINDS[en.kind] || en.kind)), h('p', { class: 'tl-meta' }, `${en.at.replace('T', ' ').slice(0, 16)} · ${en.author}`), h('p', { class: 'tl-reason' }, en.text)))))
          : h('p', { class: 'muted' }, '暂无记录。'),
      ),
      open ? h('div', { class: 'screen-forms' }, entryForm, attachForm, closeForm) : null,
    );
  }
  await load();
}
