/* /me — the caller's own record (GET /api/v1/me, ID number unmasked because it is
 * the owner's) and the change-password form. The ID number and phone are still
 * shown masked on screen until the user asks to see them (shoulder-surfing guard). */
import { get, post } from '../api.js';
import {
  busy,
  clearFormErrors,
  field,
  fmtDateTime,
  formAlert,
  h,
  maskMiddle,
  pageTitle,
  replace,
  showFormError,
  showFormOk,
} from '../dom.js';
import * as session from '../session.js';
import { townNames } from '../towns.js';

export async function render(main, ctx) {
  ctx.setTitle('我的');
  replace(main, pageTitle('我的'), h('p', { class: 'loading' }, '正在加载…'));
  const [me, names] = await Promise.all([
    get('/api/v1/me', { signal: ctx.signal }),
    townNames().catch(() => new Map()),
  ]);
  if (ctx.signal.aborted) return;
  const u = me && me.user ? me.user : me; // tolerate {user:{…}} or the bare object
  session.updateUser(u);
  replace(
    main,
    pageTitle('我的', `${u.display_name}，${u.role_name || u.role}`),
    casesPanel(u, ctx),
    h('div', { class: 'grid-2' }, profile(u, names), passwordPanel()),
  );
}

/* 我的办件 (applicants: the latest applications) or 办件队列 (case staff), linked
 * from here; the list loads after the page so a slow answer never blocks it. */
function casesPanel(u, ctx) {
  const applicant = u.role === 'citizen' || u.role === 'company';
  const queue = ['staff', 'approver', 'supervisor', 'admin'].includes(u.role);
  if (!applicant && !queue) return null;
  const href = applicant ? '/me/cases' : '/work/queue';
  const list = h('ul', { class: 'me-cases', id: 'me-cases' });
  const panel = h(
    'section',
    { class: 'panel me-cases-panel', 'aria-labelledby': 'me-cases-title' },
    h(
      'div',
      { class: 'panel-head-row' },
      h('h2', { id: 'me-cases-title', class: 'panel-title' }, applicant ? '我的办件' : '办件队列'),
      h('a', { class: 'btn btn-ghost btn-small', href, id: 'me-cases-link' }, applicant ? '查看全部办件' : '打开办件队列'),
    ),
    list,
  );
  get(applicant ? '/api/v1/cases?mine=1&limit=3' : '/api/v1/cases?status=todo&limit=3', { signal: ctx.signal })
    .then((r) => {
      if (ctx.signal.aborted) return;
      const items = (r && r.items) || [];
      if (!items.length) {
        list.replaceWith(h('p', { class: 'muted' }, applicant ? '还没有办件。在办事指南页点“在线申请”即可网上办理。' : '暂无待办办件。'));
        return;
      }
      replace(
        list,
        items.map((c) =>
          h(
            'li',
            null,
            h('a', { href: `/cases/${c.id}` }, c.item_name),
            h('span', { class: 'mono muted' }, c.case_no),
            h('span', { class: 'me-case-status' }, c.status_label || c.status),
          ),
        ),
        r.total > items.length ? h('li', { class: 'muted' }, `共 ${r.total} 件`) : null,
      );
    })
    .catch(() => list.remove());
  return panel;
}

function secret(value, keepStart, keepEnd, what) {
  if (!value) return h('span', { class: 'muted' }, '未登记');
  const masked = maskMiddle(value, keepStart, keepEnd);
  if (masked === value) return h('span', { class: 'mono' }, value);
  const text = h('span', { class: 'mono' }, masked);
  const btn = h('button', { type: 'button', class: 'btn btn-link btn-small', 'aria-pressed': 'false' }, '显示');
  btn.setAttribute('aria-label', `显示完整${what}`);
  btn.addEventListener('click', () => {
    const on = btn.getAttribute('aria-pressed') !== 'true';
    btn.setAttribute('aria-pressed', on ? 'true' : 'false');
    btn.textContent = on ? '隐藏' : '显示';
    btn.setAttribute('aria-label', `${on ? '隐藏' : '显示完整'}${what}`);
    text.textContent = on ? value : masked;
  });
  return h('span', { class: 'secret' }, text, ' ', btn);
}

function profile(u, names) {
  const row = (k, v) => [h('dt', null, k), h('dd', null, v)];
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'profile-title' },
    h('h2', { id: 'profile-title', class: 'panel-title' }, '账号信息'),
    h(
      'dl',
      { class: 'kv', id: 'profile' },
      row('姓名', u.display_name),
      row('账号', h('span', { class: 'mono' }, u.login)),
      row('角色', u.role_name || u.role),
      row('身份证号', secret(u.id_number, 4, 4, '身份证号')),
      row('手机号码', secret(u.phone, 3, 4, '手机号码')),
      row('所属乡镇', u.town_code ? names.get(u.town_code) || u.town_code : h('span', { class: 'muted' }, '未设置')),
      row('注册时间', fmtDateTime(u.created_at)),
      row('账号状态', u.disabled ? h('span', { class: 'status status-off' }, '已停用') : h('span', { class: 'status status-on' }, '正常')),
    ),
  );
}

function passwordPanel() {
  const f = {
    old_password: field({ label: '当前密码', name: 'old_password', type: 'password', autocomplete: 'current-password', required: true }),
    new_password: field({ label: '新密码', name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, hint: '8–128 位', maxlength: 128 }),
    new_password2: field({ label: '确认新密码', name: 'new_password2', type: 'password', autocomplete: 'new-password', required: true, maxlength: 128 }),
  };
  const form = h(
    'form',
    { class: 'form', novalidate: true, id: 'password-form', 'aria-labelledby': 'pw-title' },
    formAlert(),
    Object.values(f),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '修改密码')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const oldPw = f.old_password.control.value;
    const newPw = f.new_password.control.value;
    if (!oldPw) return showFormError(form, { field: 'old_password', message: '请输入当前密码' });
    if (newPw !== f.new_password2.control.value) {
      return showFormError(form, { field: 'new_password2', message: '两次输入的新密码不一致' });
    }
    try {
      await busy(form, () => post('/api/v1/me/password', { old_password: oldPw, new_password: newPw }));
      form.reset();
      showFormOk(form, '密码已修改。其他设备上的登录已退出。');
    } catch (err) {
      showFormError(form, err);
    }
  });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title', class: 'panel-title' }, '修改密码'),
    form,
  );
}
