/* /admin/search — 搜索管理 for staff, approver, admin (and supervisor, read-only):
 * the synonym / 俗称 table (GET/POST/DELETE /api/v1/search/synonyms) and the
 * queries that found nothing (GET /api/v1/search/zero-results), each with a
 * one-click "添加同义词" that fills the form with that query. */
import { del, get, post, withQuery } from '../api.js';
import { busy, clearFormErrors, field, fmtDate, fmtDateTime, formAlert, h, notice, pageTitle, replace, showFormError } from '../dom.js';

const EDIT_ROLES = ['staff', 'approver', 'admin'];

/* A synonym entry is {id, term, canonical, source: "file"|"db", created_at, created_by};
 * older shapes ({term, synonyms:[…]}) are read too. */
function entryTargets(e) {
  const t = e.canonical ?? e.synonyms ?? e.synonym ?? [];
  return Array.isArray(t) ? t : [String(t)];
}
function isBuiltin(e) {
  return e.source === 'file' || e.id === null || e.id === undefined;
}

export async function render(main, ctx) {
  ctx.setTitle('搜索管理');
  const canEdit = ctx.user && EDIT_ROLES.includes(ctx.user.role);
  let terms = new Set(); // synonym terms, to mark zero-result queries already handled

  const status = h('div', { class: 'status-region', role: 'status', 'aria-live': 'polite' });
  const synBox = h('div', { class: 'table-box', id: 'synonyms-box' }, h('p', { class: 'loading' }, '正在加载同义词…'));
  const zeroBox = h('div', { class: 'table-box', id: 'zero-box' }, h('p', { class: 'loading' }, '正在加载无结果查询…'));

  /* ---- add form ---- */
  const term = field({ label: '群众的说法（俗称）', name: 'term', required: true, placeholder: '如：老人证', maxlength: 50 });
  const targets = field({
    label: '对应的规范说法',
    name: 'canonical',
    required: true,
    placeholder: '如：老年人优待证',
    hint: '事项名称里的正式叫法；搜索俗称时会一并搜索它',
    maxlength: 64,
  });
  const addForm = h(
    'form',
    { class: 'form form-grid syn-form', id: 'synonym-form', novalidate: true },
    formAlert(),
    term,
    targets,
    h('div', { class: 'form-actions field-wide' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '添加同义词')),
  );
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(addForm);
    const t = term.control.value.trim();
    const c = targets.control.value.trim();
    if (!t) return showFormError(addForm, { field: 'term', message: '请填写群众的说法' });
    if (!c) return showFormError(addForm, { field: 'canonical', message: '请填写对应的规范说法' });
    try {
      await busy(addForm, () => post('/api/v1/search/synonyms', { term: t, canonical: c }));
      addForm.reset();
      replace(status, notice('ok', `已添加同义词：“${t}” → “${c}”，搜索立即生效。`));
      filter.control.value = '';
      await loadSynonyms();
      await loadZero();
      term.control.focus();
    } catch (err) {
      showFormError(addForm, err);
    }
  });

  // Client-side filter over the (possibly long) synonym table.
  const filter = field({ label: '查找同义词', name: 'syn-filter', type: 'search', placeholder: '输入俗称或规范说法' });
  filter.querySelector('.opt')?.remove();
  filter.classList.add('syn-filter');
  filter.control.addEventListener('input', () => applyFilter());
  const applyFilter = () => {
    const v = filter.control.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of synBox.querySelectorAll('tbody tr')) {
      const on = !v || tr.textContent.toLowerCase().includes(v);
      tr.hidden = !on;
      if (on) shown++;
    }
    const cap = synBox.querySelector('caption');
    if (cap) cap.textContent = v ? `同义词（找到 ${shown} 组）` : cap.dataset.all;
  };

  replace(
    main,
    pageTitle('搜索管理', '维护俗称与规范名称的对应（同义词），查看没有搜到结果的查询并补上。'),
    status,
    h(
      'div',
      { class: 'admin-search' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'zero-title' },
        h('h2', { class: 'panel-title', id: 'zero-title' }, '无结果查询'),
        h('p', { class: 'hint' }, '群众搜了却没找到事项的词。点“添加同义词”把它对应到规范名称。'),
        zeroBox,
      ),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'syn-title' },
        h('h2', { class: 'panel-title', id: 'syn-title' }, '同义词'),
        canEdit ? addForm : notice('info', '同义词由窗口工作人员、审批人员和管理员维护；当前角色只能查看无结果查询。'),
        canEdit ? filter : null,
        synBox,
      ),
    ),
  );

  async function loadSynonyms() {
    if (!canEdit) {
      replace(synBox);
      return;
    }
    let r;
    try {
      r = await get('/api/v1/search/synonyms', { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(synBox, notice('error', `同义词加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    // Staff-added first (newest first), then the shipped ones by term.
    const items = ((r && r.items) || []).slice().sort((a, b) => {
      const ba = isBuiltin(a) ? 1 : 0;
      const bb = isBuiltin(b) ? 1 : 0;
      if (ba !== bb) return ba - bb;
      if (!ba) return String(b.created_at || '').localeCompare(String(a.created_at || '')) || (b.id || 0) - (a.id || 0);
      return String(a.term).localeCompare(String(b.term), 'zh-CN');
    });
    terms = new Set(items.map((e) => e.term));
    if (!items.length) {
      replace(synBox, notice('info', '还没有同义词。'));
      return;
    }
    const all = `同义词（共 ${items.length} 组，其中工作人员添加 ${items.filter((e) => !isBuiltin(e)).length} 组）`;
    replace(
      synBox,
      h(
        'div',
        { class: 'table-scroll syn-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'syn-caption' },
        h(
          'table',
          { class: 'table', id: 'synonyms-table' },
          h('caption', { id: 'syn-caption', dataset: { all } }, all),
          h('thead', null, h('tr', null, ['群众的说法', '规范说法', '来源', canEdit ? '操作' : null].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            null,
            items.map((e) =>
              h(
                'tr',
                { dataset: { term: e.term, id: e.id ?? '' } },
                h('th', { scope: 'row' }, e.term),
                h('td', { class: 'wrap' }, entryTargets(e).join('、')),
                h('td', { class: 'muted small' }, sourceText(e)),
                canEdit ? h('td', { class: 'actions' }, deleteButton(e)) : null,
              ),
            ),
          ),
        ),
      ),
    );
    applyFilter();
  }

  function sourceText(e) {
    if (isBuiltin(e)) return '内置';
    return [e.created_by || '工作人员', e.created_at ? fmtDate(e.created_at) : ''].filter(Boolean).join(' · ');
  }

  function deleteButton(e) {
    const t = e.term;
    if (isBuiltin(e)) return h('span', { class: 'muted', title: '内置同义词随系统发布，不能在此删除' }, '—', h('span', { class: 'visually-hidden' }, '内置，不能删除'));
    const btn = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost' }, '删除');
    btn.setAttribute('aria-label', `删除同义词“${t}”`);
    btn.addEventListener('click', async () => {
      if (!window.confirm(`确定删除同义词“${t}” → “${entryTargets(e).join('、')}”吗？`)) return;
      btn.disabled = true;
      try {
        await del(`/api/v1/search/synonyms/${encodeURIComponent(e.id)}`);
        replace(status, notice('ok', `已删除同义词“${t}”。`));
        await loadSynonyms();
        filter.control.focus();
      } catch (err) {
        btn.disabled = false;
        replace(status, notice('error', `删除失败：${err.message}`));
      }
    });
    return btn;
  }

  async function loadZero() {
    let r;
    try {
      r = await get(withQuery('/api/v1/search/zero-results', { limit: 50 }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(zeroBox, notice('error', `无结果查询加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = (r && r.items) || [];
    if (!items.length) {
      replace(zeroBox, notice('ok', '最近没有搜不到结果的查询。'));
      return;
    }
    replace(
      zeroBox,
      h(
        'div',
        { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'zero-caption' },
        h(
          'table',
          { class: 'table', id: 'zero-table' },
          h('caption', { id: 'zero-caption' }, `无结果查询（${items.length} 个）`),
          h('thead', null, h('tr', null, ['查询', '搜不到的次数', '最近一次', canEdit ? '操作' : null].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            null,
            items.map((z) => {
              const q = z.query ?? z.q ?? z.normalized ?? '';
              const n = z.zero_results ?? z.searches ?? '';
              const last = z.last_at ?? z.last_seen ?? z.at ?? '';
              let add = null;
              if (canEdit && terms.has(q)) {
                add = h('span', { class: 'status status-on' }, '已添加同义词');
              } else if (canEdit) {
                add = h('button', { type: 'button', class: 'btn btn-small btn-ghost add-syn' }, '添加同义词');
                add.setAttribute('aria-label', `为“${q}”添加同义词`);
                add.addEventListener('click', () => {
                  clearFormErrors(addForm);
                  term.control.value = q;
                  targets.control.value = '';
                  addForm.scrollIntoView({ block: 'center' });
                  targets.control.focus();
                });
              }
              return h(
                'tr',
                { dataset: { query: q } },
                h('th', { scope: 'row' }, h('a', { href: `/search?q=${encodeURIComponent(q)}` }, q)),
                h('td', { class: 'num' }, String(n)),
                h('td', { class: 'nowrap', title: last ? fmtDateTime(last) : null }, last ? fmtDate(last) : '—'),
                canEdit ? h('td', { class: 'actions' }, add) : null,
              );
            }),
          ),
        ),
      ),
    );
  }

  await loadSynonyms();
  await loadZero();
}
