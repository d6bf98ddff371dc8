/* /items/{code} — the complete 办事指南 of one service item (GET /api/v1/items/{code}):
 * header, key facts, 受理条件, materials (免提交 when an e-licence can be reused),
 * process, place and hours, phone, basis, result, FAQ and 一件事 bundles.
 * Printable: the print stylesheet hides navigation and buttons, and FAQ answers
 * are opened for printing. */
import { get } from '../api.js';
import { DEPTH, daysText, itemBadges, phoneLinks, visitsText } from '../catalog.js';
import { fmtDateTime, h, pageTitle, replace } from '../dom.js';

const EDIT_ROLES = ['staff', 'approver', 'admin'];

export async function render(main, ctx) {
  const code = ctx.route.code;
  ctx.setTitle('办事指南');
  replace(main, h('p', { class: 'loading' }, '正在加载办事指南…'));
  let it;
  try {
    it = await get(`/api/v1/items/${encodeURIComponent(code)}`, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (e.status === 404) {
      ctx.setTitle('事项不存在');
      replace(
        main,
        pageTitle('事项不存在', `没有编码为 ${code} 的服务事项，可能已调整或编码有误。`),
        h('p', null, h('a', { href: '/search', class: 'btn btn-primary' }, '搜索办事事项')),
      );
      return;
    }
    throw e;
  }
  if (ctx.signal.aborted) return;
  it = it && it.item ? it.item : it; // tolerate {item:{…}}
  ctx.setTitle(it.name);
  const canEdit = ctx.user && EDIT_ROLES.includes(ctx.user.role);

  replace(
    main,
    h(
      'nav',
      { class: 'breadcrumb no-print', 'aria-label': '当前位置' },
      h('ol', null, h('li', null, h('a', { href: '/' }, '首页')), h('li', null, h('a', { href: '/search' }, '办事事项')), h('li', { 'aria-current': 'page' }, it.name)),
    ),
    h(
      'article',
      { class: 'guide', id: 'guide', 'aria-labelledby': 'guide-title', dataset: { code: it.code } },
      guideHead(it, canEdit),
      actions(it),
      facts(it),
      section('conditions', '受理条件', it.conditions ? paragraphs(it.conditions) : null),
      section('materials', '申请材料', materials(it.materials || [])),
      section('process', '办理流程', steps(it.process || [])),
      section('where', '办理地点和时间', where(it)),
      section('phone', '咨询电话', it.phone ? h('p', { class: 'guide-phone' }, phoneLinks(it.phone)) : null),
      section('basis', '设定依据', it.basis ? paragraphs(it.basis) : null),
      section('result', '办理结果', it.result ? h('p', null, it.result) : null),
      section('faq', '常见问题', faq(it.faq || []), { optional: true }),
      section('bundles', '所属“一件事”', bundles(it.bundles || []), { optional: true }),
      h(
        'p',
        { class: 'guide-foot muted' },
        `事项编码 ${it.code}`,
        it.version ? ` · 第 ${it.version} 版` : '',
        it.updated_at ? ` · 更新于 ${fmtDateTime(it.updated_at)}` : '',
        ' · 本指南以窗口实际受理要求为准。',
      ),
    ),
  );
}

function guideHead(it, canEdit) {
  const tools = h(
    'div',
    { class: 'guide-tools no-print' },
    canEdit ? h('a', { class: 'btn btn-ghost btn-small', href: `/items/${encodeURIComponent(it.code)}/edit`, id: 'edit-item' }, '编辑') : null,
    h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'print-guide', on: { click: () => window.print() } }, '打印'),
  );
  return h(
    'header',
    { class: 'guide-head' },
    h(
      'div',
      { class: 'guide-head-row' },
      h('div', { class: 'guide-head-main' }, h('p', { class: 'guide-kicker' }, '办事指南'), h('h1', { class: 'page-title', id: 'guide-title', tabindex: '-1' }, it.name)),
      tools,
    ),
    h(
      'dl',
      { class: 'guide-meta' },
      meta('事项编码', h('span', { class: 'mono', id: 'item-code' }, it.code)),
      meta('实施部门', it.department),
      meta('事项类型', it.type),
      meta('行使层级', it.level),
    ),
    itemBadges(it),
  );
}

function meta(k, v) {
  if (v === undefined || v === null || v === '') return null;
  return h('div', { class: 'guide-meta-item' }, h('dt', null, k), h('dd', null, v));
}

function comingSoon(ev, note) {
  ev.preventDefault();
  note.hidden = false;
  note.focus();
}

/* 在线申请 goes to the apply page (which sends anonymous visitors to log in and
 * back) for items that take online applications (办理深度 2 and up); 预约帮办代办
 * books an agent for the item (/assist/new?item=CODE), for every item: an agent
 * also helps with what must be handed in at a window. */
function actions(it) {
  const code = encodeURIComponent(it.code);
  const online = Number(it.online_depth) >= 2;
  const note = h(
    'p',
    { class: 'action-note', id: 'apply-note', tabindex: '-1', hidden: true, role: 'status' },
    '本事项暂不支持网上申请。',
    '可以预约帮办代办员上门帮您办，或到就近的',
    h('a', { href: '/places' }, '便民服务站'),
    '请工作人员帮办。',
  );
  const soon = (href, label, cls, describedBy) =>
    h(
      'a',
      {
        class: ['btn', cls],
        href,
        'aria-disabled': 'true',
        'aria-describedby': describedBy,
        on: { click: (e) => comingSoon(e, note) },
      },
      label,
    );
  return h(
    'section',
    { class: 'guide-actions no-print', 'aria-label': '办理方式' },
    h(
      'div',
      { class: 'action-row' },
      online
        ? h('a', { class: 'btn btn-primary', href: `/apply/${code}`, id: 'apply-online' }, '在线申请')
        : soon(`/apply/${code}`, '在线申请', 'btn-primary', 'apply-offline'),
      h('a', { class: 'btn btn-secondary', href: `/assist/new?item=${code}`, id: 'assist-book' }, '预约帮办代办'),
      h('a', { class: 'btn btn-ghost', href: `/assistant?item=${code}`, id: 'ask-assistant' }, '问问智能客服'),
    ),
    online
      ? h('p', { class: 'hint' }, '在线申请：填写申请表、上传材料，能从电子证照库调取的材料免提交。', h('span', { id: 'assist-hint' }, '不方便自己办？预约帮办代办，代办员上门或在网上帮您办。'))
      : h('p', { class: 'hint', id: 'apply-offline' }, '本事项暂不支持网上申请，请到窗口办理，或预约帮办代办。'),
    note,
  );
}

function facts(it) {
  const rows = [
    ['法定办结时限', daysText(it.legal_days)],
    ['承诺办结时限', daysText(it.promise_days)],
    ['收费标准', it.fee],
    ['办理深度', DEPTH[it.online_depth] || (it.online_depth ? String(it.online_depth) : '')],
    ['到现场次数', visitsText(it.visits)],
    ['通办范围', (it.scope || []).length ? it.scope.join('、') : '暂不支持通办'],
    ['告知承诺', it.commitment ? '可告知承诺（签署承诺书后先办理，材料按约定补交）' : '不适用'],
    ['智能秒办', it.instant ? '支持（系统自动审批，即时出结果）' : '不支持'],
    ['可办理渠道', (it.handle_at || []).join('、')],
  ].filter(([, v]) => v !== '' && v !== null && v !== undefined);
  return h(
    'section',
    { class: 'guide-section guide-facts', 'aria-labelledby': 'sec-facts' },
    h('h2', { class: 'section-title', id: 'sec-facts' }, '基本信息'),
    h(
      'dl',
      { class: 'facts', id: 'facts' },
      rows.map(([k, v]) => h('div', { class: ['fact', String(v).length > 12 && 'fact-wide'] }, h('dt', null, k), h('dd', null, v))),
    ),
  );
}

function section(id, title, body, { optional = false } = {}) {
  if (optional && !body) return null;
  return h(
    'section',
    { class: 'guide-section', id: `sec-${id}`, 'aria-labelledby': `sec-${id}-title` },
    h('h2', { class: 'section-title', id: `sec-${id}-title` }, title),
    body || h('p', { class: 'muted' }, '暂无'),
  );
}

function paragraphs(text) {
  return String(text)
    .split(/\n+/)
    .filter((s) => s.trim())
    .map((s) => h('p', null, s));
}

/* ---------- materials ---------- */

function materials(list) {
  if (!list.length) return h('p', null, '无需提交材料。');
  const reusable = list.filter((m) => m.licence).length;
  const cols = ['序号', '材料名称', '是否必需', '材料形式', '份数', '来源', '提交方式'];
  return [
    reusable
      ? h(
          'p',
          { class: 'materials-note' },
          h('span', { class: 'badge badge-free' }, '免提交'),
          ` 共 ${reusable} 项材料可从电子证照库调取，办理时无需提交纸质材料。`,
        )
      : null,
    h(
      'div',
      { class: 'table-scroll materials-scroll' },
      h(
        'table',
        { class: 'table materials', id: 'materials-table' },
        h('caption', { class: 'visually-hidden' }, '申请材料清单'),
        h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          list.map((m, i) =>
            h(
              'tr',
              { dataset: { licence: m.licence || '' }, class: m.licence ? 'is-free' : null },
              h('td', { class: 'num', dataset: { label: cols[0] } }, String(i + 1)),
              h('th', { scope: 'row', class: 'mat-name' }, m.name),
              h('td', { dataset: { label: cols[2] } }, m.required ? h('span', { class: 'req-yes' }, '必需') : h('span', { class: 'muted' }, '非必需')),
              h('td', { dataset: { label: cols[3] } }, m.form || '—'),
              h('td', { class: 'num', dataset: { label: cols[4] } }, m.copies !== undefined && m.copies !== null ? String(m.copies) : '—'),
              h('td', { dataset: { label: cols[5] } }, m.source || '—'),
              h('td', { class: 'mat-free', dataset: { label: cols[6] } }, m.licence ? freeBadge(m) : h('span', { class: 'muted' }, '需提交')),
            ),
          ),
        ),
      ),
    ),
  ];
}

function freeBadge(m) {
  const issuer = m.licence_issuer || m.issuer || (m.licence_info && m.licence_info.issuer) || '';
  const trust = m.licence_trust_level || m.trust_level || (m.licence_info && m.licence_info.trust_level) || '';
  const detail = [issuer, trust ? `${trust} 级可信` : ''].filter(Boolean).join(' · ');
  return h(
    'span',
    { class: 'free' },
    h('span', { class: 'badge badge-free' }, '免提交'),
    h('span', { class: 'free-what' }, `电子证照：${m.licence}`),
    detail ? h('span', { class: 'free-detail' }, detail) : null,
  );
}

/* ---------- the rest ---------- */

function steps(list) {
  if (!list.length) return null;
  return h(
    'ol',
    { class: 'steps' },
    list.map((s) => {
      const m = /^([^：:]{1,8})[：:](.*)$/s.exec(s);
      return h('li', { class: 'step' }, m ? [h('strong', { class: 'step-name' }, m[1]), h('span', { class: 'step-text' }, m[2])] : s);
    }),
  );
}

function where(it) {
  const places = String(it.place || '')
    .split(/[；;]\s*/)
    .filter((s) => s.trim());
  return h(
    'dl',
    { class: 'kv where' },
    h('dt', null, '办理地点'),
    h('dd', null, places.length > 1 ? h('ul', { class: 'place-list' }, places.map((p) => h('li', null, p))) : it.place || '—'),
    h('dt', null, '办理时间'),
    h('dd', null, it.hours || '—'),
  );
}

function faq(list) {
  if (!list.length) return null;
  return h(
    'div',
    { class: 'faq' },
    list.map((f) => h('details', { class: 'faq-item' }, h('summary', null, f.q), h('p', null, f.a))),
  );
}

function bundles(list) {
  if (!list.length) return null;
  return [
    h('p', { class: 'muted' }, '本事项也可以作为下面的“一件事”一次申请、一起办理：'),
    h(
      'ul',
      { class: 'bundle-list' },
      list.map((b) =>
        h(
          'li',
          { class: 'bundle', dataset: { code: b.code } },
          h('span', { class: 'bundle-name' }, b.name),
          h('span', { class: 'mono muted bundle-code' }, b.code),
          h('a', { class: 'btn btn-ghost btn-small bundle-apply no-print', href: `/apply/bundle/${encodeURIComponent(b.code)}` }, '一件事联办'),
        ),
      ),
    ),
  ];
}

// Open every FAQ answer while printing, and restore afterwards.
let opened = [];
window.addEventListener('beforeprint', () => {
  opened = [...document.querySelectorAll('.guide details:not([open])')];
  for (const d of opened) d.open = true;
});
window.addEventListener('afterprint', () => {
  for (const d of opened) d.open = false;
  opened = [];
});
