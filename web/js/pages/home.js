/* Home: search box, quick tiles, and the 办事不出岛 panel (towns → 便民服务站),
 * plus role-specific entry points for staff and administrators. */
import { h, notice, replace } from '../dom.js';
import { searchBox } from '../catalog.js';
import { byCounty, islands, stationItem, stations, towns } from '../towns.js';

const TILES = [
  { q: '老年人优待证', label: '老年人优待证', glyph: '老', hint: '老人证办理' },
  { q: '社会保障卡', label: '社会保障卡', glyph: '社', hint: '申领 · 补换' },
  { q: '营业执照', label: '营业执照', glyph: '企', hint: '开办企业' },
  { q: '医保', label: '医疗保障', glyph: '医', hint: '参保 · 报销' },
  { q: '户口迁移', label: '户籍办理', glyph: '户', hint: '迁入 · 迁出' },
  { q: '不动产登记', label: '不动产登记', glyph: '房', hint: '过户 · 抵押' },
  { q: '公积金提取', label: '住房公积金', glyph: '金', hint: '提取 · 贷款' },
  { q: '出生', label: '出生一件事', glyph: '婴', hint: '落户 · 医保 · 社保卡' },
];

const STAFF_ROLES = ['agent', 'staff', 'approver', 'trading_staff', 'bidder', 'expert'];
// Where each working role starts its day.
const WORKBENCH = {
  agent: [['/agent', '我的任务']],
  staff: [['/work/queue', '办件队列'], ['/work/dispatch', '派单调度'], ['/assist/new', '电话受理帮办']],
  approver: [['/work/queue', '办件队列']],
  trading_staff: [['/trade/manage', '交易管理'], ['/trade', '交易公告']],
  bidder: [['/trade/company', '我的投标'], ['/trade', '交易公告']],
  expert: [['/trade/expert', '评标任务']],
};

export async function render(main, ctx) {
  const u = ctx.user;
  ctx.setTitle('');

  const parts = [];
  if (u && STAFF_ROLES.includes(u.role)) {
    const desk = WORKBENCH[u.role] || [];
    parts.push(
      notice(
        'info',
        h('strong', null, `${u.role_name || '工作人员'}工作台：`),
        desk.map(([href, label], i) => [i ? '、' : '', h('a', { href, class: 'desk-link' }, label)]),
        ['staff', 'approver'].includes(u.role)
          ? [' 事项维护：在办事指南页点“编辑”修改事项，在', h('a', { href: '/admin/search' }, '搜索管理'), '中维护同义词。']
          : null,
      ),
    );
  }
  parts.push(hero(ctx, u));
  if (u && (u.role === 'admin' || u.role === 'supervisor')) parts.push(adminPanel(u));
  parts.push(tiles(), islandPanel(ctx));
  replace(main, ...parts);
}

function hero(ctx, u) {
  const form = searchBox({ id: 'home-q', navigate: ctx.navigate });
  return h(
    'section',
    { class: 'hero', 'aria-labelledby': 'hero-title' },
    h('h1', { id: 'hero-title', class: 'hero-title', tabindex: '-1' }, u ? `${u.display_name}，您好` : '舟山政务服务，办事不出岛'),
    h('p', { class: 'hero-sub' }, '一个入口办理政务服务事项，就近找到海岛上的便民服务站。'),
    form,
  );
}

function tiles() {
  return h(
    'section',
    { class: 'section', 'aria-labelledby': 'tiles-title' },
    h('h2', { id: 'tiles-title', class: 'section-title' }, '常用服务'),
    h(
      'ul',
      { class: 'tiles' },
      TILES.map((t) =>
        h(
          'li',
          null,
          h(
            'a',
            { class: 'tile', href: `/search?q=${encodeURIComponent(t.q)}` },
            h('span', { class: 'tile-glyph', 'aria-hidden': 'true' }, t.glyph),
            h('span', { class: 'tile-label' }, t.label),
            h('span', { class: 'tile-hint' }, t.hint),
          ),
        ),
      ),
      h(
        'li',
        null,
        h(
          'a',
          { class: 'tile tile-alt', href: '/places' },
          h('span', { class: 'tile-glyph', 'aria-hidden': 'true' }, '站'),
          h('span', { class: 'tile-label' }, '服务网点'),
          h('span', { class: 'tile-hint' }, '找附近的便民服务站'),
        ),
      ),
    ),
  );
}

function adminPanel(u) {
  const links = [];
  if (u.role === 'admin') {
    links.push(['/admin/users', '用户管理', '创建账号、分配角色、启用或停用']);
  }
  links.push(['/admin/audit', '审计日志', '查询操作记录，校验哈希链']);
  links.push(['/admin/search', '搜索管理', '同义词（俗称）和搜不到结果的查询']);
  return h(
    'section',
    { class: 'section', 'aria-labelledby': 'admin-title' },
    h('h2', { id: 'admin-title', class: 'section-title' }, '管理工作台'),
    h(
      'ul',
      { class: 'cards' },
      links.map(([href, label, hint]) =>
        h('li', null, h('a', { class: 'card-link', href }, h('span', { class: 'card-label' }, label), h('span', { class: 'card-hint' }, hint))),
      ),
    ),
  );
}

/* ---------- 办事不出岛: towns → stations ---------- */
function islandPanel(ctx) {
  const townsBox = h('div', { class: 'towns', id: 'towns' }, h('p', { class: 'loading' }, '正在加载乡镇（街道）…'));
  const result = h('div', { class: 'stations-panel', id: 'stations-panel', 'aria-live': 'polite' });
  const section = h(
    'section',
    { class: 'section island-panel', 'aria-labelledby': 'island-title' },
    h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'island-title', class: 'section-title' }, '办事不出岛'),
      h('p', { class: 'section-sub' }, '舟山 36 个乡镇（街道）都设有便民服务站。选择您所在的乡镇，查看身边的服务站点。'),
    ),
    h(
      'p',
      { class: 'island-links', id: 'island-links' },
      h('a', { class: 'btn btn-primary', href: '/assist/new' }, '帮我办：预约帮办代办'),
      ' ',
      h('a', { class: 'btn btn-secondary', href: '/coverage' }, '10分钟服务圈'),
      ' ',
      h('a', { class: 'btn btn-secondary', href: '/verify' }, '证明核验'),
    ),
    townsBox,
    result,
  );
  loadTowns(ctx, townsBox, result);
  return section;
}

async function loadTowns(ctx, box, result) {
  let list;
  try {
    list = await towns();
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(box, notice('error', `乡镇列表加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  if (!list.length) {
    replace(box, notice('warn', '暂无乡镇数据。'));
    return;
  }
  let selected = null;
  const buttons = [];
  const pick = (t, btn) => {
    for (const b of buttons) b.setAttribute('aria-pressed', b === btn ? 'true' : 'false');
    selected = t.code;
    showStations(ctx, t, result, () => selected === t.code);
  };
  replace(
    box,
    byCounty(list).map(([county, ts]) =>
      h(
        'div',
        { class: 'county' },
        h('h3', { class: 'county-name' }, county, h('span', { class: 'count' }, `${ts.length} 个`)),
        h(
          'ul',
          { class: 'town-list' },
          ts.map((t) => {
            const btn = h(
              'button',
              { type: 'button', class: 'town', 'aria-pressed': 'false', dataset: { code: t.code } },
              h('span', { class: 'town-name' }, t.name),
              Number.isFinite(t.stations) ? h('span', { class: 'town-count' }, `${t.stations} 站`) : null,
            );
            btn.addEventListener('click', () => pick(t, btn));
            buttons.push(btn);
            return h('li', null, btn);
          }),
        ),
      ),
    ),
  );
  replace(result, h('p', { class: 'muted' }, '请选择上方的乡镇（街道）。'));
}

async function showStations(ctx, town, result, stillSelected) {
  replace(result, h('p', { class: 'loading' }, `正在加载${town.name}的服务站点…`));
  let r;
  let isl = new Map();
  try {
    [r, isl] = await Promise.all([
      stations({ town: town.code, limit: 200 }, { signal: ctx.signal }),
      islands().catch(() => new Map()),
    ]);
  } catch (e) {
    if (ctx.signal.aborted || !stillSelected()) return;
    replace(result, notice('error', `站点加载失败：${e.message}`));
    return;
  }
  if (!stillSelected()) return;
  const items = (r && r.items) || [];
  const facts = [
    town.county,
    town.kind,
    town.main_island ? `主岛：${(isl.get(town.main_island) || {}).name || town.main_island}` : null,
    Number.isFinite(town.villages) ? `${town.villages} 个村（社区）` : null,
  ].filter(Boolean);
  replace(
    result,
    h(
      'div',
      { class: 'stations-head' },
      h('h3', { class: 'stations-title', id: 'stations-title' }, `${town.name}的服务站点`),
      h('p', { class: 'muted' }, facts.join(' · ')),
    ),
    items.length
      ? h('ul', { class: 'stations', 'aria-labelledby': 'stations-title' }, items.map(stationItem))
      : notice('info', '该乡镇暂无登记的服务站点，可拨打 12345 咨询。'),
    h(
      'p',
      { class: 'more' },
      `共 ${r && Number.isFinite(r.total) ? r.total : items.length} 个站点 · `,
      h('a', { href: `/places?town=${encodeURIComponent(town.code)}` }, '在服务网点页查看'),
    ),
  );
}
