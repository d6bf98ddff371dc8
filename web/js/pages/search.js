/* /search?q=… — the service catalogue and search arrive in a later release.
 * Until then this page says so plainly (no fake results) and points to
 * what already works: 服务网点 and the 12345 hotline. */
import { h, notice, pageTitle, replace } from '../dom.js';

export async function render(main, ctx) {
  const q = (ctx.params.get('q') || '').trim();
  ctx.setTitle(q ? `搜索：${q}` : '搜索');
  const input = h('input', {
    type: 'search',
    name: 'q',
    id: 'search-q',
    class: 'search-input',
    value: q,
    placeholder: '搜索办事事项，如：老人证、社保卡、营业执照',
    autocomplete: 'off',
    maxlength: '100',
  });
  const form = h(
    'form',
    {
      class: 'search-form search-form-inline',
      role: 'search',
      action: '/search',
      method: 'get',
      on: {
        submit: (e) => {
          e.preventDefault();
          const v = input.value.trim();
          if (v) ctx.navigate(`/search?q=${encodeURIComponent(v)}`);
          else input.focus();
        },
      },
    },
    h('label', { for: 'search-q', class: 'visually-hidden' }, '搜索办事事项'),
    input,
    h('button', { type: 'submit', class: 'btn btn-primary search-btn' }, '搜索'),
  );
  replace(
    main,
    pageTitle('服务事项搜索即将上线'),
    form,
    notice(
      'info',
      h(
        'p',
        null,
        q ? ['您搜索的是“', h('strong', { class: 'query' }, q), '”。'] : null,
        '全市政务服务事项目录与搜索功能正在建设中，上线后可在此查到办事指南、所需材料和办理网点。',
      ),
    ),
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'now-title' },
      h('h2', { id: 'now-title', class: 'section-title' }, '现在您可以'),
      h(
        'ul',
        { class: 'plain-list' },
        h('li', null, h('a', { href: '/places' }, '查找附近的便民服务站'), '，由工作人员当面帮办。'),
        h('li', null, '拨打政务服务便民热线 ', h('a', { href: 'tel:12345' }, '12345'), ' 咨询办事流程。'),
      ),
    ),
  );
}
