/* /places — 服务网点: every service centre, 便民服务站 and 代办点, filterable by
 * town and kind, paged. Filters live in the URL (?town=&kind=&page=). */
import { withQuery } from '../api.js';
import { field, h, notice, pageTitle, replace } from '../dom.js';
import { byCounty, STATION_KINDS, stationItem, stations, towns } from '../towns.js';

const PAGE = 30;

export async function render(main, ctx) {
  ctx.setTitle('服务网点');
  const town = ctx.params.get('town') || '';
  const kind = ctx.params.get('kind') || '';
  const page = Math.max(1, parseInt(ctx.params.get('page') || '1', 10) || 1);

  const list = h('div', { class: 'places-list', 'aria-live': 'polite' }, h('p', { class: 'loading' }, '正在加载服务网点…'));
  const pager = h('nav', { class: 'pager', 'aria-label': '服务网点分页' });

  let townList = [];
  try {
    townList = await towns();
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(main, pageTitle('服务网点'), notice('error', `乡镇列表加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;

  const townSel = field({ label: '乡镇（街道）', name: 'town', options: [], value: town });
  townSel.querySelector('.opt')?.remove();
  townSel.control.append(h('option', { value: '' }, '全部乡镇（街道）'));
  for (const [county, ts] of byCounty(townList)) {
    townSel.control.append(h('optgroup', { label: county }, ts.map((t) => h('option', { value: t.code, selected: t.code === town }, t.name))));
  }
  const kindSel = field({
    label: '类型',
    name: 'kind',
    options: [{ value: '', label: '全部类型' }, ...STATION_KINDS.map((k) => ({ value: k, label: k }))],
    value: kind,
  });
  kindSel.querySelector('.opt')?.remove();
  const go = () => ctx.navigate(withQuery('/places', { town: townSel.control.value, kind: kindSel.control.value }));
  townSel.control.addEventListener('change', go);
  kindSel.control.addEventListener('change', go);
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': '筛选服务网点' },
    townSel,
    kindSel,
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '查询')),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    go();
  });

  const t = townList.find((x) => x.code === town);
  replace(
    main,
    pageTitle('服务网点', '全市服务中心、便民服务站和代办点。不方便出岛？就近找站点，工作人员帮您办。'),
    h('p', { class: 'hint' }, h('a', { href: '/coverage', id: 'coverage-link' }, '查看10分钟服务圈：各村到最近站点要多久'), '　', h('a', { href: '/assist/new' }, '预约帮办代办')),
    filters,
    list,
    pager,
  );

  let r;
  try {
    r = await stations({ town, kind, limit: PAGE, offset: (page - 1) * PAGE }, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(list, notice('error', `服务网点加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  const items = (r && r.items) || [];
  const total = r && Number.isFinite(r.total) ? r.total : items.length;
  replace(
    list,
    h('p', { class: 'result-count' }, `${t ? t.name : '全市'}${kind ? `的${kind}` : '服务网点'}：共 ${total} 个`),
    items.length ? h('ul', { class: 'stations' }, items.map(stationItem)) : notice('info', '没有符合条件的服务网点。'),
  );
  const pages = Math.max(1, Math.ceil(total / PAGE));
  if (pages > 1) {
    const link = (p, label) =>
      p < 1 || p > pages
        ? h('span', { class: 'btn btn-ghost', 'aria-disabled': 'true' }, label)
        : h('a', { class: 'btn btn-ghost', href: withQuery('/places', { town, kind, page: p > 1 ? p : '' }) }, label);
    replace(pager, link(page - 1, '上一页'), h('span', { class: 'pager-info' }, `第 ${page} / ${pages} 页`), link(page + 1, '下一页'));
  }
}
