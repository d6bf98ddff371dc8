/* /register — creates a 群众 (citizen) account, then logs in with it. */
import { busy, clearFormErrors, field, formAlert, h, replace, showFormError } from '../dom.js';
import { post } from '../api.js';
import * as session from '../session.js';

export async function render(main, ctx) {
  ctx.setTitle('注册');
  const next = session.safeNext(ctx.params.get('next'));
  const f = {
    login: field({ label: '账号', name: 'login', autocomplete: 'username', required: true, hint: '3–64 位，可用字母、数字及 _ . @ -', maxlength: 64 }),
    display_name: field({ label: '姓名', name: 'display_name', autocomplete: 'name', required: true, maxlength: 64 }),
    password: field({ label: '密码', name: 'password', type: 'password', autocomplete: 'new-password', required: true, hint: '8–128 位', maxlength: 128 }),
    password2: field({ label: '确认密码', name: 'password2', type: 'password', autocomplete: 'new-password', required: true, maxlength: 128 }),
    id_number: field({ label: '居民身份证号码', name: 'id_number', autocomplete: 'off', maxlength: 18, hint: '18 位，末位可为 X；用于实名办事' }),
    phone: field({ label: '手机号码', name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel', maxlength: 20 }),
  };
  const form = h(
    'form',
    { class: 'form', novalidate: true, id: 'register-form', 'aria-labelledby': 'register-title' },
    formAlert(),
    Object.values(f),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, '注册并登录')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const v = (k) => (k.startsWith('password') ? f[k].control.value : f[k].control.value.trim());
    if (v('password') !== v('password2')) {
      return showFormError(form, { field: 'password2', message: '两次输入的密码不一致' });
    }
    const body = { login: v('login'), password: v('password'), display_name: v('display_name') };
    if (v('id_number')) body.id_number = v('id_number').toUpperCase();
    if (v('phone')) body.phone = v('phone');
    try {
      await busy(form, async () => {
        await post('/api/v1/register', body);
        await session.login(body.login, body.password);
      });
      ctx.navigate(next || '/me', { replace: true });
    } catch (err) {
      showFormError(form, err);
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
        h('h1', { id: 'register-title', class: 'page-title', tabindex: '-1' }, '注册个人账号'),
        h('p', { class: 'muted' }, '注册后即可在线办事。企业及工作人员账号由管理员开通。'),
        form,
        h('p', { class: 'auth-alt' }, '已有账号？', h('a', { href: next ? `/login?next=${encodeURIComponent(next)}` : '/login' }, '登录')),
      ),
    ),
  );
}
