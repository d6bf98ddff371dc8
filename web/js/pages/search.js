/* /search?q=…&department=&type=&commitment=1&instant=1&page=N — results of the
 * smart search (GET /api/v1/search): count and time, highlighted names, badges,
 * facet filters kept in the URL, paging, and a friendly empty state that points
 * to 12345 and 帮办代办. */
import { get, withQuery } from '../api.js';
import { itemBadges, markNodes, searchBox } from '../catalog.js';
import { h, notice, replace } from '../dom.js';

const PAGE = 10;
const FACET_SHOWN = 6; // facet values shown before 更多
let refocus = ''; // id of a filter checkbox to focus after the next render
const POPULAR = ['老人证', '社保卡', '营业执照', '身份证', '驾照到期', '公积金提取', '不动产登记', '出生'];
// Boolean filters: URL key → label. The API takes them as key=true.
const FLAGS = [
  ['commitment', '可告知承诺', '提交承诺书即可办理，材料可后补'],
  ['instant', '智能秒办', '系统自动审批，即时出结果'],
];

export async function render(main, ctx) {
  const p = ctx.params;
  const q = (p.get('q') || '').trim();
  const filt = {
    department: p.get('department') || '',
    type: p.get('type') || '',
    commitment: p.get('commitment') === '1' ? '1' : '',
    instant: p.get('instant') === '1' ? '1' : '',
  };
  const page = Math.max(1, parseInt(p.get('page') || '1', 10) || 1);
  const url = (extra) => withQuery('/search', { q, ...filt, page: '', ...extra });
  ctx.setTitle(q ? `搜索：${q}` : '搜索');

  const box = searchBox({ id: 'search-q', value: q, navigate: ctx.navigate, className: 'search-form-inline' });
  const head = h(
    'div',
    { class: 'page-head' },
    h('h1', { class: 'page-title', tabindex: '-1' }, q ? ['搜索“', h('span', { class: 'query' }, q), '”'] : '搜索办事事项'),
  );

  if (!q) {
    replace(main, head, box, popular());
    return;
  }

  const results = h('div', { class: 'results', id: 'results', 'aria-live': 'polite' }, h('p', { class: 'loading' }, '正在搜索…'));
  replace(main, head, box, results);

  let r;
  try {
    r = await get(
      withQuery('/api/v1/search', {
        q,
        department: filt.department,
        type: filt.type,
        commitment: filt.commitment ? 'true' : '',
        instant: filt.instant ? 'true' : '',
        town: ctx.user && ctx.user.town_code ? ctx.user.town_code : '', // boosts what the user can do on their own island
        limit: PAGE,
        offset: (page - 1) * PAGE,
      }),
      { signal: ctx.signal },
    );
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(results, notice('error', `搜索失败：${e.message}`), helpBox());
    return;
  }
  if (ctx.signal.aborted) return;

  const items = (r && r.items) || [];
  const total = r && Number.isFinite(r.total) ? r.total : items.length;
  const anyFilter = Boolean(filt.department || filt.type || filt.commitment || filt.instant);

  const summary = h(
    'p',
    { class: 'result-count', id: 'result-count' },
    `找到 ${total} 个相关事项`,
    r && Number.isFinite(r.took_ms) ? h('span', { class: 'took' }, `（用时 ${fmtMs(r.took_ms)} 毫秒）`) : null,
  );
  const normalized = r && r.normalized && r.normalized !== q && r.normalized.replace(/\s+/g, '') !== q.replace(/\s+/g, '')
    ? h('p', { class: 'muted normalized' }, `已按“${r.normalized}”搜索`)
    : null;

  if (!items.length && !anyFilter) {
    replace(results, summary, emptyState(q));
    return;
  }

  const facets = facetPanel(r && r.facets, filt, url, ctx.navigate);
  const list = items.length
    ? h('ol', { class: 'result-list', start: String((page - 1) * PAGE + 1) }, items.map(resultItem))
    : notice('info', '当前筛选条件下没有事项。', ' ', h('a', { href: url({ department: '', type: '', commitment: '', instant: '' }) }, '清除全部筛选'));

  replace(
    results,
    h(
      'div',
      { class: 'search-layout' },
      facets,
      h(
        'section',
        { class: 'search-main', 'aria-labelledby': 'result-count' },
        summary,
        normalized,
        activeFilters(filt, url),
        list,
        pager(total, page, url),
        items.length ? helpBox() : null,
      ),
    ),
  );
  if (refocus) {
    document.getElementById(refocus)?.focus();
    refocus = '';
  }
}

function fmtMs(ms) {
  const n = Number(ms);
  if (n < 1) return n.toFixed(2);
  if (n < 10) return n.toFixed(1);
  return String(Math.round(n));
}

function resultItem(it) {
  const href = `/items/${encodeURIComponent(it.code)}`;
  return h(
    'li',
    { class: 'result', dataset: { code: it.code } },
    h('h2', { class: 'result-name' }, h('a', { href }, markNodes(it.highlight && it.highlight.name, it.name))),
    h(
      'p',
      { class: 'result-meta' },
      it.department ? h('span', { class: 'result-dept' }, it.department) : null,
      it.type ? h('span', { class: 'result-type' }, it.type) : null,
      h('span', { class: 'mono result-code' }, it.code),
    ),
    itemBadges(it),
  );
}

/* ---------- facets ---------- */

function facetPanel(facets, filt, url, navigate) {
  const f = facets || {};
  const group = (key, title, counts) => {
    const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], 'zh-CN'));
    if (filt[key] && !entries.some(([k]) => k === filt[key])) entries.unshift([filt[key], null]);
    if (!entries.length) return null;
    const headId = `facet-${key}`;
    return h(
      'div',
      { class: 'facet' },
      h('h3', { class: 'facet-title', id: headId }, title),
      h(
        'ul',
        { class: 'facet-list', 'aria-labelledby': headId },
        filt[key] ? h('li', null, h('a', { class: 'facet-link facet-all', href: url({ [key]: '' }) }, `全部${title}`)) : null,
        entries.slice(0, FACET_SHOWN).map(facetItem),
      ),
      entries.length > FACET_SHOWN
        ? h(
            'details',
            { class: 'facet-more', open: entries.slice(FACET_SHOWN).some(([name]) => name === filt[key]) || null },
            h('summary', null, `更多${title}（${entries.length - FACET_SHOWN}）`),
            h('ul', { class: 'facet-list' }, entries.slice(FACET_SHOWN).map(facetItem)),
          )
        : null,
    );
    function facetItem([name, n]) {
      const on = filt[key] === name;
      return h(
        'li',
        null,
        h(
          'a',
          {
            class: ['facet-link', on && 'is-on'],
            href: url({ [key]: on ? '' : name }),
            'aria-current': on ? 'true' : null,
            dataset: { facet: key, value: name },
          },
          h('span', { class: 'facet-name' }, name),
          n !== null ? h('span', { class: 'facet-count' }, String(n)) : null,
        ),
      );
    }
  };
  const flags = h(
    'fieldset',
    { class: 'facet facet-flags' },
    h('legend', { class: 'facet-title' }, '办理方式'),
    FLAGS.map(([key, label, hint]) => {
      const id = `flag-${key}`;
      const box = h('input', { type: 'checkbox', id, name: key, class: 'check', checked: Boolean(filt[key]), 'aria-describedby': `${id}-hint` });
      box.addEventListener('change', () => {
        refocus = id; // keep keyboard focus on the checkbox across the re-render
        navigate(url({ [key]: box.checked ? '1' : '' }));
      });
      return h(
        'div',
        { class: 'check-row facet-check' },
        box,
        h('label', { for: id }, label),
        h('span', { class: 'visually-hidden', id: `${id}-hint` }, hint),
      );
    }),
  );
  // Beside the results on wide screens; folded above them on phones and in
  // 长者模式 (single column) unless a filter is in use.
  const n = ['department', 'type', 'commitment', 'instant'].filter((k) => filt[k]).length;
  const stacked = window.matchMedia('(max-width: 48rem)').matches || document.documentElement.classList.contains('elder');
  return h(
    'aside',
    { class: 'facets', 'aria-label': '筛选搜索结果' },
    h(
      'details',
      { class: 'facets-box', open: !stacked || n > 0 },
      h('summary', { class: 'facets-summary' }, h('h2', { class: 'facets-title' }, n ? `筛选（已选 ${n} 项）` : '筛选')),
      flags,
      group('department', '部门', f.department),
      group('type', '事项类型', f.type),
    ),
  );
}

function activeFilters(filt, url) {
  const chips = [];
  if (filt.department) chips.push(['department', filt.department]);
  if (filt.type) chips.push(['type', filt.type]);
  for (const [key, label] of FLAGS) if (filt[key]) chips.push([key, label]);
  if (!chips.length) return null;
  return h(
    'ul',
    { class: 'chips', 'aria-label': '已选筛选条件' },
    chips.map(([key, label]) =>
      h('li', null, h('a', { class: 'chip', href: url({ [key]: '' }), 'aria-label': `取消筛选：${label}` }, label, h('span', { 'aria-hidden': 'true', class: 'chip-x' }, '×'))),
    ),
    chips.length > 1
      ? h('li', null, h('a', { class: 'chip chip-clear', href: url({ department: '', type: '', commitment: '', instant: '' }) }, '清除全部'))
      : null,
  );
}

function pager(total, page, url) {
  const pages = Math.max(1, Math.ceil(total / PAGE));
  if (pages <= 1) return null;
  const link = (n, label, rel) =>
    n < 1 || n > pages
      ? h('span', { class: 'btn btn-ghost', 'aria-disabled': 'true' }, label)
      : h('a', { class: 'btn btn-ghost', href: url({ page: n > 1 ? n : '' }), rel }, label);
  return h(
    'nav',
    { class: 'pager', 'aria-label': '搜索结果分页' },
    link(page - 1, '上一页', 'prev'),
    h('span', { class: 'pager-info' }, `第 ${page} / ${pages} 页`),
    link(page + 1, '下一页', 'next'),
  );
}

/* ---------- empty and helper states ---------- */

function emptyState(q) {
  return h(
    'div',
    { class: 'empty-state', id: 'empty-state' },
    h('h2', { class: 'empty-title' }, `没有找到与“${q}”相关的事项`),
    h(
      'ul',
      { class: 'plain-list' },
      h('li', null, '换个说法试试，比如用事项的常用叫法：“老人证”“社保卡”“营业执照”。'),
      h('li', null, '可以只输入关键的两三个字，或者用拼音首字母，如“sbk”。'),
    ),
    helpBox(true),
    popular(),
  );
}

function helpBox(prominent) {
  return h(
    'section',
    { class: ['help-box', prominent && 'help-box-big'], 'aria-labelledby': 'help-title' },
    h('h2', { class: 'help-title', id: 'help-title' }, prominent ? '不知道怎么办？我们帮您' : '没找到想办的事？'),
    h(
      'ul',
      { class: 'help-list' },
      h(
        'li',
        null,
        h('span', { class: 'help-glyph', 'aria-hidden': 'true' }, '☎'),
        h('span', null, '拨打政务服务便民热线 ', h('a', { href: 'tel:12345', class: 'tel' }, '12345'), '，工作人员告诉您怎么办。'),
      ),
      h(
        'li',
        null,
        h('span', { class: 'help-glyph', 'aria-hidden': 'true' }, '帮'),
        h('span', null, '到就近的便民服务站找 ', h('a', { href: '/places' }, '帮办代办'), ' 员，不出岛也能办。'),
      ),
    ),
  );
}

function popular() {
  return h(
    'section',
    { class: 'section', 'aria-labelledby': 'popular-title' },
    h('h2', { class: 'section-title', id: 'popular-title' }, '大家都在搜'),
    h(
      'ul',
      { class: 'chips' },
      POPULAR.map((t) => h('li', null, h('a', { class: 'chip', href: `/search?q=${encodeURIComponent(t)}` }, t))),
    ),
  );
}
