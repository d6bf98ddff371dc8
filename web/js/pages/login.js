/* /login — account + password. Errors come from the API and are shown next to
 * the field it names (or above the form when no single field is at fault). */
import { busy, clearFormErrors, field, formAlert, h, replace, showFormError } from '../dom.js';
import * as session from '../session.js';

export async function render(main, ctx) {
  ctx.setTitle('登录');
  const next = session.safeNext(ctx.params.get('next'));
  const login = field({ label: '账号', name: 'login', autocomplete: 'username', required: true });
  const password = field({ label: '密码', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const show = h('input', { type: 'checkbox', id: 'login-show-pw', class: 'check' });
  show.addEventListener('change', () => {
    password.control.type = show.checked ? 'text' : 'password';
  });

  const form = h(
    'form',
    { class: 'form', novalidate: true, id: 'login-form', 'aria-labelledby': 'login-title' },
    formAlert(),
    login,
    password,
    h('div', { class: 'check-row' }, show, h('label', { for: 'login-show-pw' }, '显示密码')),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '登录')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const body = { login: login.control.value.trim(), password: password.control.value };
    if (!body.login) return showFormError(form, { field: 'login', message: '请输入账号' });
    if (!body.password) return showFormError(form, { field: 'password', message: '请输入密码' });
    try {
      const u = await busy(form, () => session.login(body.login, body.password));
      ctx.navigate(next || session.homeFor(u), { replace: true });
    } catch (err) {
      showFormError(form, err);
      if (!err.field) password.control.select();
    }
  });

  replace(
    main,
    h(
      'div',
      { class: 'auth-wrap' },
      h(
        'div',
        { class: 'panel auth-panel' },
        h('h1', { id: 'login-title', class: 'page-title', tabindex: '-1' }, '登录'),
        next ? h('p', { class: 'muted' }, '请先登录后继续。') : null,
        form,
        h('p', { class: 'auth-alt' }, '还没有账号？', h('a', { href: next ? `/register?next=${encodeURIComponent(next)}` : '/register' }, '注册个人账号')),
      ),
    ),
  );
  login.control.focus();
}
