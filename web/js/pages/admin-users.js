/* /admin/users — admin only: list users (role filter, search, paging), create a
 * user, edit role / name / town, enable or disable. Filters live in the URL so
 * reload and back/forward keep them. */
import { get, patch, post, withQuery } from '../api.js';
import {
  busy,
  clearFormErrors,
  field,
  fmtDateTime,
  formAlert,
  h,
  notice,
  replace,
  showFormError,
} from '../dom.js';
import { byCounty, towns } from '../towns.js';

const PAGE = 20;

export async function render(main, ctx) {
  ctx.setTitle('用户管理');
  const role = ctx.params.get('role') || '';
  const q = ctx.params.get('q') || '';
  const page = Math.max(1, parseInt(ctx.params.get('page') || '1', 10) || 1);

  const [rolesRes, townList] = await Promise.all([
    get('/api/v1/roles', { signal: ctx.signal }),
    towns().catch(() => []),
  ]);
  if (ctx.signal.aborted) return;
  const roles = (rolesRes && rolesRes.items) || [];
  const roleName = new Map(roles.map((r) => [r.role, r.name]));
  const townName = new Map(townList.map((t) => [t.code, t.name]));

  const status = h('div', { class: 'status-region', role: 'status', 'aria-live': 'polite' });
  const tableBox = h('div', { class: 'table-box' }, h('p', { class: 'loading' }, '正在加载用户…'));
  const pager = h('nav', { class: 'pager', 'aria-label': '用户列表分页' });

  const go = (params) => ctx.navigate(withQuery('/admin/users', params));

  // ---- filters ----
  const roleSel = field({
    label: '角色',
    name: 'role',
    options: [{ value: '', label: '全部角色' }, ...roles.map((r) => ({ value: r.role, label: r.name }))],
    value: role,
  });
  roleSel.querySelector('.opt')?.remove();
  const qField = field({ label: '搜索', name: 'q', type: 'search', placeholder: '账号或姓名', value: q });
  qField.querySelector('.opt')?.remove();
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': '筛选用户' },
    roleSel,
    qField,
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, '查询'),
      role || q ? h('a', { class: 'btn btn-ghost', href: '/admin/users' }, '清除') : null,
    ),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    go({ role: roleSel.control.value, q: qField.control.value.trim() });
  });
  roleSel.control.addEventListener('change', () => go({ role: roleSel.control.value, q: qField.control.value.trim() }));

  // ---- dialogs ----
  const dialogs = userDialogs(roles, townList, async (msg, shown) => {
    // A new user is shown by itself (the list may have many pages).
    if (shown) qField.control.value = shown;
    await load(shown);
    replace(status, notice('ok', msg));
  });

  const createBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'create-user' }, '＋ 新建用户');
  createBtn.addEventListener('click', () => dialogs.openCreate(createBtn));

  replace(
    main,
    h('div', { class: 'page-head page-head-row' }, h('h1', { class: 'page-title', tabindex: '-1' }, '用户管理'), createBtn),
    filters,
    status,
    tableBox,
    pager,
    dialogs.create,
    dialogs.edit,
  );

  let shownOnly = null; /* after a create: that user by itself, until the next navigation */
  async function load(only = shownOnly) {
    shownOnly = only || null;
    let r;
    try {
      r = await get(withQuery('/api/v1/users', only ? { q: only, limit: PAGE } : { role, q, limit: PAGE, offset: (page - 1) * PAGE }), { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(tableBox, notice('error', `用户列表加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = (r && r.items) || [];
    const total = r && Number.isFinite(r.total) ? r.total : items.length;
    replace(tableBox, items.length ? table(items, total) : notice('info', role || q ? '没有符合条件的用户。' : '暂无用户。'));
    renderPager(total);
  }

  function table(items, total) {
    const me = ctx.user;
    return h(
      'div',
      { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'users-caption' },
      h(
        'table',
        { class: 'table', id: 'users-table' },
        h('caption', { id: 'users-caption' }, `用户列表（共 ${total} 人）`),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['账号', '姓名', '角色', '身份证号', '手机号码', '所属乡镇', '状态', '创建时间', '操作'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          items.map((u) => {
            const toggle = h(
              'button',
              {
                type: 'button',
                class: ['btn', 'btn-small', u.disabled ? 'btn-ghost' : 'btn-danger-ghost'],
                disabled: me && me.id === u.id,
                title: me && me.id === u.id ? '不能停用当前登录的账号' : null,
              },
              u.disabled ? '启用' : '停用',
            );
            toggle.setAttribute('aria-label', `${u.disabled ? '启用' : '停用'} ${u.display_name}（${u.login}）`);
            toggle.addEventListener('click', () => setDisabled(u, !u.disabled, toggle));
            const edit = h('button', { type: 'button', class: 'btn btn-small btn-ghost' }, '编辑');
            edit.setAttribute('aria-label', `编辑 ${u.display_name}（${u.login}）`);
            edit.addEventListener('click', () => dialogs.openEdit(u, edit));
            return h(
              'tr',
              { class: u.disabled ? 'row-disabled' : null, dataset: { login: u.login } },
              h('th', { scope: 'row', class: 'mono' }, u.login),
              h('td', null, u.display_name),
              h('td', null, h('span', { class: 'role-badge', dataset: { role: u.role } }, u.role_name || roleName.get(u.role) || u.role)),
              h('td', { class: 'mono nowrap' }, u.id_number || '—'),
              h('td', { class: 'mono nowrap' }, u.phone || '—'),
              h('td', null, u.town_code ? townName.get(u.town_code) || u.town_code : '—'),
              h('td', null, u.disabled ? h('span', { class: 'status status-off' }, '已停用') : h('span', { class: 'status status-on' }, '正常')),
              h('td', { class: 'nowrap' }, fmtDateTime(u.created_at)),
              h('td', { class: 'actions nowrap' }, edit, ' ', toggle),
            );
          }),
        ),
      ),
    );
  }

  async function setDisabled(u, disabled, btn) {
    if (disabled && !window.confirm(`确定停用“${u.display_name}（${u.login}）”吗？停用后该用户的所有登录将立即失效。`)) return;
    btn.disabled = true;
    try {
      await patch(`/api/v1/users/${encodeURIComponent(u.id)}`, { disabled });
      await load();
      replace(status, notice('ok', `已${disabled ? '停用' : '启用'}用户 ${u.display_name}（${u.login}）。`));
    } catch (e) {
      btn.disabled = false;
      replace(status, notice('error', `操作失败：${e.message}`));
    }
  }

  function renderPager(total) {
    const pages = Math.max(1, Math.ceil(total / PAGE));
    if (pages <= 1) {
      pager.replaceChildren();
      return;
    }
    const link = (p, label) =>
      p < 1 || p > pages
        ? h('span', { class: 'btn btn-ghost', 'aria-disabled': 'true' }, label)
        : h('a', { class: 'btn btn-ghost', href: withQuery('/admin/users', { role, q, page: p > 1 ? p : '' }) }, label);
    replace(pager, link(page - 1, '上一页'), h('span', { class: 'pager-info' }, `第 ${page} / ${pages} 页`), link(page + 1, '下一页'));
  }

  await load();
}

/* ---------- create / edit dialogs ---------- */
function townOptions(townList) {
  const opts = [{ value: '', label: '不设置' }];
  for (const [county, ts] of byCounty(townList)) for (const t of ts) opts.push({ value: t.code, label: `${county} · ${t.name}` });
  return opts;
}

function dialogShell(id, title, form) {
  const titleId = `${id}-title`;
  const close = h('button', { type: 'button', class: 'btn btn-ghost dialog-close', 'aria-label': '关闭' }, '×');
  const dlg = h(
    'dialog',
    { class: 'dialog', id, 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId, class: 'panel-title' }, title), close),
    form,
  );
  close.addEventListener('click', () => dlg.close());
  return dlg;
}

function userDialogs(roles, townList, done) {
  const roleOpts = roles.map((r) => ({ value: r.role, label: r.name }));
  let opener = null;

  // Create
  const c = {
    login: field({ label: '账号', name: 'login', autocomplete: 'off', required: true, hint: '3–64 位字母、数字或 _ . @ -' }),
    display_name: field({ label: '姓名', name: 'display_name', autocomplete: 'off', required: true }),
    password: field({ label: '初始密码', name: 'password', type: 'password', autocomplete: 'new-password', required: true, hint: '8–128 位，请告知用户登录后修改' }),
    role: field({ label: '角色', name: 'role', options: roleOpts, value: 'citizen', required: true }),
    id_number: field({ label: '居民身份证号码', name: 'id_number', autocomplete: 'off', maxlength: 18 }),
    phone: field({ label: '手机号码', name: 'phone', type: 'tel', autocomplete: 'off', inputmode: 'tel' }),
    town_code: field({ label: '所属乡镇（街道）', name: 'town_code', options: townOptions(townList) }),
  };
  const cancelC = h('button', { type: 'button', class: 'btn btn-ghost' }, '取消');
  const createForm = h(
    'form',
    { class: 'form form-grid', novalidate: true, id: 'create-user-form' },
    formAlert(),
    Object.values(c),
    h('div', { class: 'form-actions field-wide' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '创建'), cancelC),
  );
  const create = dialogShell('create-user-dialog', '新建用户', createForm);
  cancelC.addEventListener('click', () => create.close());
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(createForm);
    const body = {
      login: c.login.control.value.trim(),
      password: c.password.control.value,
      role: c.role.control.value,
      display_name: c.display_name.control.value.trim(),
    };
    const idn = c.id_number.control.value.trim().toUpperCase();
    if (idn) body.id_number = idn;
    const phone = c.phone.control.value.trim();
    if (phone) body.phone = phone;
    if (c.town_code.control.value) body.town_code = c.town_code.control.value;
    try {
      const r = await busy(createForm, () => post('/api/v1/users', body));
      create.close();
      const u = (r && r.user) || body;
      await done(`已创建用户 ${u.display_name}（${u.login}）。`, u.login);
    } catch (err) {
      showFormError(createForm, err);
    }
  });

  // Edit
  let editing = null;
  const loginView = h('p', { class: 'muted edit-login' });
  const ed = {
    display_name: field({ label: '姓名', name: 'display_name', autocomplete: 'off', required: true }),
    role: field({ label: '角色', name: 'role', options: roleOpts, required: true }),
    town_code: field({ label: '所属乡镇（街道）', name: 'town_code', options: townOptions(townList) }),
  };
  const cancelE = h('button', { type: 'button', class: 'btn btn-ghost' }, '取消');
  const editForm = h(
    'form',
    { class: 'form', novalidate: true, id: 'edit-user-form' },
    formAlert(),
    loginView,
    Object.values(ed),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '保存'), cancelE),
  );
  const edit = dialogShell('edit-user-dialog', '编辑用户', editForm);
  cancelE.addEventListener('click', () => edit.close());
  editForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(editForm);
    const body = {};
    const name = ed.display_name.control.value.trim();
    if (name !== editing.display_name) body.display_name = name;
    if (ed.role.control.value !== editing.role) body.role = ed.role.control.value;
    if (ed.town_code.control.value !== (editing.town_code || '')) body.town_code = ed.town_code.control.value;
    if (!Object.keys(body).length) {
      edit.close();
      return;
    }
    try {
      await busy(editForm, () => patch(`/api/v1/users/${encodeURIComponent(editing.id)}`, body));
      edit.close();
      await done(`已保存用户 ${name}（${editing.login}）。`);
    } catch (err) {
      showFormError(editForm, err);
    }
  });

  for (const d of [create, edit]) {
    d.addEventListener('close', () => {
      if (opener && document.contains(opener)) opener.focus();
      opener = null;
    });
  }

  return {
    create,
    edit,
    openCreate(from) {
      opener = from;
      createForm.reset();
      clearFormErrors(createForm);
      c.role.control.value = 'citizen';
      create.showModal();
      c.login.control.focus();
    },
    openEdit(u, from) {
      opener = from;
      editing = u;
      clearFormErrors(editForm);
      loginView.textContent = `账号：${u.login}`;
      ed.display_name.control.value = u.display_name || '';
      ed.role.control.value = u.role;
      ed.town_code.control.value = u.town_code || '';
      edit.showModal();
      ed.display_name.control.focus();
    },
  };
}
