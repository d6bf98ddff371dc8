/* towns.js — cached access to the public Zhoushan geography (towns) and
 * helpers shared by the home page, 服务网点 and the admin forms. */
import { get, withQuery } from './api.js';
import { h } from './dom.js';

let townsPromise = null;

/** All 36 towns (cached for the page's lifetime; a failure is not cached). */
export function towns() {
  if (!townsPromise) {
    townsPromise = get('/api/v1/places/towns').then(
      (r) => (r && Array.isArray(r.items) ? r.items : []),
      (e) => {
        townsPromise = null;
        throw e;
      },
    );
  }
  return townsPromise;
}

let islandsPromise = null;

/** Island id → island object (cached; a failure is not cached). */
export function islands() {
  if (!islandsPromise) {
    islandsPromise = get('/api/v1/places/islands').then(
      (r) => new Map(((r && r.items) || []).map((i) => [i.id, i])),
      (e) => {
        islandsPromise = null;
        throw e;
      },
    );
  }
  return islandsPromise;
}

/** Town code → name map. */
export async function townNames() {
  const m = new Map();
  for (const t of await towns()) m.set(t.code, t.name);
  return m;
}

const COUNTY_ORDER = ['定海区', '普陀区', '岱山县', '嵊泗县'];

/** Group towns by county, in the usual order (定海, 普陀, 岱山, 嵊泗, then others). */
export function byCounty(list) {
  const groups = new Map();
  for (const t of list) {
    const c = t.county || '其他';
    if (!groups.has(c)) groups.set(c, []);
    groups.get(c).push(t);
  }
  const rank = (c) => {
    const i = COUNTY_ORDER.indexOf(c);
    return i < 0 ? COUNTY_ORDER.length : i;
  };
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]));
}

/** Stations, filtered: {town, island, kind, limit, offset} → {items, total}. */
export function stations(params, opts) {
  return get(withQuery('/api/v1/places/stations', params), opts);
}

export const STATION_KINDS = ['服务中心', '便民服务站', '代办点'];

/** One station as a list item. Fields beyond name/kind are shown when present. */
export function stationItem(s) {
  const where = [s.town_name, s.village_name && s.village_name !== s.town_name ? s.village_name : null]
    .filter(Boolean)
    .join(' · ');
  const hours = s.hours || s.opening_hours;
  return h(
    'li',
    { class: 'station' },
    h(
      'div',
      { class: 'station-head' },
      h('h3', { class: 'station-name' }, s.name || '（未命名站点）'),
      s.kind ? h('span', { class: 'tag', dataset: { kind: s.kind } }, s.kind) : null,
    ),
    h(
      'dl',
      { class: 'station-meta' },
      where ? [h('dt', null, '所在'), h('dd', null, where)] : null,
      s.island_name ? [h('dt', null, '海岛'), h('dd', null, s.island_name)] : null,
      s.address ? [h('dt', null, '地址'), h('dd', null, s.address)] : null,
      s.phone ? [h('dt', null, '电话'), h('dd', null, h('a', { href: `tel:${s.phone}` }, s.phone))] : null,
      hours ? [h('dt', null, '时间'), h('dd', null, hours)] : null,
      Number.isFinite(s.staff) && s.staff > 0 ? [h('dt', null, '人员'), h('dd', null, `${s.staff} 名工作人员`)] : null,
    ),
  );
}
