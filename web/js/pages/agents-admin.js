/* /work/agents — 代办员与站点管理 for staff, supervisors and admins: the 帮办代办
 * agents (GET /api/v1/agents, filtered by town, duty, kind and name) with their
 * station, load and duty; edit one (PUT /api/v1/agents/{id}: duty, capacity,
 * working hours, skills: all items or listed departments), add one (POST
 * /api/v1/agents, at a station of the chosen town), and edit a station's opening
 * hours, phone and services (PUT /api/v1/stations/{id}). Going off duty hands the
 * agent's not-yet-accepted tasks back to the dispatcher (the API does it). */
import { get, post, put, withQuery } from '../api.js';
import { clearFormErrors, field, h, notice, replace, showFormError } from '../dom.js';

const PAGE = 50;

export async function render(main, ctx) {
  ctx.setTitle('代办员管理');
  const town = ctx.params.get('town') || '';
  const duty = ['1', '0'].includes(ctx.params.get('on_duty')) ? ctx.params.get('on_duty') : '';
  const kind = ['full_time', 'part_time'].includes(ctx.params.get('kind')) ? ctx.params.get('kind') : '';
  const q = ctx.params.get('q') || '';
  const page = Math.max(1, parseInt(ctx.params.get('page') || '1', 10) || 1);
  const towns = (await get('/api/v1/places/towns', { signal: ctx.signal }).catch(() => ({ items: [] }))).items || [];
  if (ctx.signal.aborted) return;

  const flash = h('div', { id: 'agents-flash', 'aria-live': 'polite' });
  const list = h('div', { id: 'agents-list' }, h('p', { class: 'loading' }, '正在加载…'));
  const editor = h('div', { id: 'agents-editor' });
  const filters = h(
    'form',
    { class: 'filters', id: 'agents-filters' },
    field({ label: '乡镇', name: 'town', options: [{ value: '', label: '全部乡镇' }, ...towns.map((t) => ({ value: t.code, label: t.name }))], value: town }),
    field({ label: '在岗', name: 'on_duty', options: [{ value: '', label: '全部' }, { value: '1', label: '在岗' }, { value: '0', label: '离岗' }], value: duty }),
    field({ label: '类型', name: 'kind', options: [{ value: '', label: '全部' }, { value: 'full_time', label: '专职' }, { value: 'part_time', label: '兼职' }], value: kind }),
    field({ label: '姓名', name: 'q', value: q, maxlength: 32 }),
    h('button', { type: 'submit', class: 'btn btn-secondary' }, '筛选'),
  );
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = filters.elements;
    ctx.navigate(withQuery('/work/agents', { town: f.town.value, on_duty: f.on_duty.value, kind: f.kind.value, q: f.q.value.trim() }));
  });
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '代办员与站点管理'), h('p', { class: 'page-sub' }, '帮办代办员的在岗状态、承接能力、工作时间和技能；便民服务站的开放时间与服务。')),
      h('div', { class: 'head-links' }, h('a', { class: 'btn btn-secondary', href: '/work/dispatch' }, '派单调度'), ' ', h('a', { class: 'btn btn-secondary', href: '/coverage' }, '服务圈')),
    ),
    flash,
    filters,
    editor,
    list,
  );

  async function load() {
    let r;
    try {
      r = await get(withQuery('/api/v1/agents', { town, on_duty: duty, kind, q, limit: PAGE, offset: (page - 1) * PAGE }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(list, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = r.items || [];
    const pages = Math.max(1, Math.ceil((r.total || 0) / PAGE));
    const url = (p) => withQuery('/work/agents', { town, on_duty: duty, kind, q, page: p > 1 ? p : '' });
    replace(
      list,
      h('p', { class: 'muted' }, `共 ${r.total} 人，其中在岗 ${r.on_duty} 人`),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'table', id: 'agents-table' },
          h('thead', null, h('tr', null, ['姓名', '类型', '所属站点', '岛屿', '在办/上限', '在岗', ''].map((x) => h('th', { scope: 'col' }, x)))),
          h(
            'tbody',
            null,
            items.map((a) =>
              h(
                'tr',
                { dataset: { id: a.id } },
                h('td', null, a.name, a.login ? h('span', { class: 'muted' }, ` (${a.login})`) : null),
                h('td', null, a.kind_label),
                h('td', null, h('button', { type: 'button', class: 'btn-link', on: { click: () => editStation(a.station_id) } }, a.station_name)),
                h('td', null, a.island_name),
                h('td', { class: a.open_tasks >= a.capacity ? 'overdue' : '' }, `${a.open_tasks}/${a.capacity}`),
                h('td', null, a.on_duty ? '在岗' : '离岗'),
                h('td', null, h('button', { type: 'button', class: 'btn btn-small btn-secondary', dataset: { action: 'edit' }, on: { click: () => editAgent(a.id) } }, '编辑')),
              ),
            ),
          ),
        ),
      ),
      pages > 1
        ? h('nav', { class: 'pager', 'aria-label': '分页' }, page > 1 ? h('a', { href: url(page - 1) }, '上一页') : null, ` 第 ${page}/${pages} 页 `, page < pages ? h('a', { href: url(page + 1) }, '下一页') : null)
        : null,
      addForm(),
    );
  }

  async function editAgent(id) {
    let a;
    try {
      a = await get(`/api/v1/agents/${id}`);
    } catch (e) {
      replace(flash, notice('error', e.message));
      return;
    }
    const duty = h('input', { type: 'checkbox', name: 'on_duty', id: 'agent-edit-duty', checked: !!a.on_duty });
    const all = a.skills && a.skills.all;
    const depts = (a.skills && a.skills.departments) || [];
    const f = h(
      'form',
      { class: 'form card', id: 'agent-edit-form', novalidate: true },
      h('h2', null, `编辑代办员：${a.name}`),
      h('div', { class: 'form-alert', role: 'alert', hidden: true }),
      h('label', { class: 'check', for: 'agent-edit-duty' }, duty, ' 在岗（离岗时未接单的任务退回派单）'),
      field({ label: '承接上限（件）', name: 'capacity', type: 'number', min: 1, max: 100, value: String(a.capacity) }),
      field({ label: '工作时间', name: 'hours', value: a.hours, hint: '如 08:30-12:00,13:30-17:30', maxlength: 120 }),
      field({ label: '技能', name: 'skills_mode', options: [{ value: 'all', label: '所有事项' }, { value: 'departments', label: '指定部门' }], value: all ? 'all' : 'departments' }),
      field({ label: '部门（每行一个）', name: 'departments', multiline: true, rows: 3, value: depts.join('\n') }),
      h('p', null, h('button', { type: 'submit', class: 'btn btn-primary' }, '保存'), ' ', h('button', { type: 'button', class: 'btn btn-ghost', on: { click: () => replace(editor) } }, '取消')),
    );
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFormErrors(f);
      const el = f.elements;
      const body = { on_duty: el.on_duty.checked, capacity: Number(el.capacity.value), hours: el.hours.value.trim() };
      body.skills = el.skills_mode.value === 'all' ? { all: true } : { departments: el.departments.value.split('\n').map((s) => s.trim()).filter(Boolean) };
      try {
        await put(`/api/v1/agents/${a.id}`, body);
        replace(editor);
        replace(flash, notice('ok', `已保存：${a.name}`));
        await load();
      } catch (e) {
        showFormError(f, e.field && e.field.startsWith('skills') ? { ...e, field: 'departments' } : e);
      }
    });
    replace(editor, f);
    f.scrollIntoView({ block: 'nearest' });
  }

  async function editStation(id) {
    let s;
    try {
      s = await get(`/api/v1/stations/${encodeURIComponent(id)}`);
    } catch (e) {
      replace(flash, notice('error', e.message));
      return;
    }
    const f = h(
      'form',
      { class: 'form card', id: 'station-edit-form', novalidate: true },
      h('h2', null, `站点：${s.name}（${s.kind}，${s.town_name}）`),
      h('div', { class: 'form-alert', role: 'alert', hidden: true }),
      field({ label: '开放时间', name: 'hours', value: s.hours || '', hint: `留空为默认：${s.hours_default}`, maxlength: 120 }),
      field({ label: '电话', name: 'phone', value: s.phone || '', maxlength: 20, inputmode: 'tel' }),
      field({ label: '服务（每行一个服务代码或事项编码）', name: 'services', multiline: true, rows: 3, value: (s.services || []).map((x) => x.code).join('\n'), hint: '留空为该类站点的默认服务' }),
      h('p', null, h('button', { type: 'submit', class: 'btn btn-primary' }, '保存站点'), ' ', h('button', { type: 'button', class: 'btn btn-ghost', on: { click: () => replace(editor) } }, '取消')),
    );
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFormErrors(f);
      const el = f.elements;
      const services = el.services.value.split('\n').map((x) => x.trim()).filter(Boolean);
      try {
        await put(`/api/v1/stations/${encodeURIComponent(s.id)}`, { hours: el.hours.value.trim() || null, phone: el.phone.value.trim() || null, services: services.length ? services : null });
        replace(editor);
        replace(flash, notice('ok', `站点已保存：${s.name}`));
      } catch (e) {
        showFormError(f, e.field && e.field.startsWith('services') ? { ...e, field: 'services' } : e);
      }
    });
    replace(editor, f);
  }

  function addForm() {
    const townSel = field({ label: '乡镇', name: 'town', required: true, options: [{ value: '', label: '请选择' }, ...towns.map((t) => ({ value: t.code, label: t.name }))], value: town });
    const stationSel = field({ label: '所属站点', name: 'station_id', required: true, options: [{ value: '', label: '请先选择乡镇' }] });
    async function stations() {
      const code = townSel.control.value;
      const r = code ? await get(withQuery('/api/v1/places/stations', { town: code })).catch(() => ({ items: [] })) : { items: [] };
      replace(stationSel.control, h('option', { value: '' }, code ? '请选择站点' : '请先选择乡镇'), (r.items || []).map((s) => h('option', { value: s.id }, `${s.name}（${s.kind}）`)));
    }
    townSel.control.addEventListener('change', stations);
    if (town) stations();
    const f = h(
      'form',
      { class: 'form card', id: 'agent-add-form', novalidate: true },
      h('h2', null, '新增代办员'),
      h('div', { class: 'form-alert', role: 'alert', hidden: true }),
      field({ label: '姓名', name: 'name', required: true, maxlength: 32 }),
      field({ label: '类型', name: 'kind', options: [{ value: 'part_time', label: '兼职' }, { value: 'full_time', label: '专职' }], value: 'part_time' }),
      townSel,
      stationSel,
      field({ label: '手机号', name: 'phone', inputmode: 'tel', maxlength: 20 }),
      h('button', { type: 'submit', class: 'btn btn-primary' }, '新增'),
    );
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFormErrors(f);
      const el = f.elements;
      const body = { name: el.name.value.trim(), kind: el.kind.value, station_id: el.station_id.value };
      if (el.phone.value.trim()) body.phone = el.phone.value.trim();
      try {
        const a = await post('/api/v1/agents', body);
        replace(flash, notice('ok', `已新增代办员：${a.name}`));
        await load();
      } catch (e) {
        showFormError(f, e);
      }
    });
    return f;
  }

  await load();
}
