/* catalog.js — helpers shared by the search, guide and editing pages: the
 * search box with live suggestions (an ARIA 1.2 combobox), safe rendering of
 * the server's <mark> highlights, and the wording of item facts and badges. */
import { get, withQuery } from './api.js';
import { h, nextId, replace } from './dom.js';

/* ---------- wording ---------- */

/** Working days → "即办" for 0, "N 个工作日" otherwise ('' when unknown). */
export function daysText(d) {
  if (d === null || d === undefined || d === '') return '';
  const n = Number(d);
  if (!Number.isFinite(n)) return String(d);
  if (n === 0) return '即办';
  return `${n} 个工作日`;
}

/** 网上办理深度 (1–4). */
export const DEPTH = {
  1: '一级 · 办事指南（线下办理）',
  2: '二级 · 表格下载',
  3: '三级 · 在线预审',
  4: '四级 · 全程网办',
};

/** 到现场次数 → "零跑动" / "最多跑 1 次". */
export function visitsText(v) {
  if (v === null || v === undefined || v === '') return '';
  const n = Number(v);
  if (n === 0) return '零跑动（全程不用到现场）';
  return `最多跑 ${n} 次`;
}

/** Area of an item code (its first six digits). */
export const AREAS = { 330900: '市本级', 330902: '定海区', 330903: '普陀区', 330921: '岱山县', 330922: '嵊泗县' };
export function areaOf(code) {
  return AREAS[String(code || '').slice(0, 6)] || '';
}

/** Badges for a search result or an item: 全程网办, 承诺时限/即办, 告知承诺, 秒办. */
export function itemBadges(it) {
  const out = [];
  if (Number(it.online_depth) === 4) out.push(h('span', { class: 'badge badge-online' }, '全程网办'));
  if (it.promise_days !== undefined && it.promise_days !== null && it.promise_days !== '') {
    const n = Number(it.promise_days);
    out.push(
      n === 0
        ? h('span', { class: 'badge badge-instant-done' }, '即办')
        : h('span', { class: 'badge badge-days' }, `承诺 ${n} 个工作日`),
    );
  }
  if (it.commitment) out.push(h('span', { class: 'badge badge-commit' }, '告知承诺'));
  if (it.instant) out.push(h('span', { class: 'badge badge-fast' }, '秒办'));
  return out.length ? h('span', { class: 'badges' }, out) : null;
}

/* ---------- highlights ---------- */

const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" };
function decodeEntities(s) {
  return s.replace(/&(?:amp|lt|gt|quot|#39|#x27);/g, (m) => ENTITIES[m]);
}

/**
 * Nodes for a highlighted string such as "<mark>老年人优待证</mark>办理". Only the
 * literal <mark> and </mark> tags are honoured; everything else is text (built
 * with text nodes, never innerHTML), so server text cannot inject markup.
 * Falls back to `plain` when there is no highlight.
 */
export function markNodes(highlighted, plain) {
  if (typeof highlighted !== 'string' || !highlighted) return [plain || ''];
  const out = [];
  let inMark = false;
  for (const part of highlighted.split(/(<mark>|<\/mark>)/)) {
    if (part === '<mark>') inMark = true;
    else if (part === '</mark>') inMark = false;
    else if (part) {
      const text = decodeEntities(part);
      out.push(inMark ? h('mark', null, text) : document.createTextNode(text));
    }
  }
  return out;
}

/** Mark every occurrence of q (case-insensitive) in text, client-side. */
export function markQuery(text, q) {
  const t = String(text || '');
  const needle = String(q || '').trim();
  if (!needle) return [t];
  const lower = t.toLowerCase();
  const n = needle.toLowerCase();
  const out = [];
  let i = 0;
  for (;;) {
    const j = lower.indexOf(n, i);
    if (j < 0) break;
    if (j > i) out.push(t.slice(i, j));
    out.push(h('mark', null, t.slice(j, j + n.length)));
    i = j + n.length;
  }
  if (i < t.length) out.push(t.slice(i));
  return out;
}

/* ---------- search box with suggestions ---------- */

const SUGGEST_DELAY = 150; // ms after the last keystroke

/**
 * The search form used on the home page and the search page.
 * opts: {id, value, placeholder, className, navigate} → the <form> element.
 * Typing asks GET /api/v1/suggest (debounced, stale answers dropped); the list
 * is a listbox driven from the input (aria-activedescendant): ↓/↑ move, Enter
 * opens the active item's guide, Esc closes; submitting goes to /search?q=.
 */
export function searchBox(opts) {
  const id = opts.id;
  const listId = `${id}-list`;
  const statusId = `${id}-status`;
  const input = h('input', {
    type: 'search',
    name: 'q',
    id,
    class: 'search-input',
    value: opts.value || null,
    placeholder: opts.placeholder || '搜索办事事项，如：老人证、社保卡、营业执照',
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    enterkeyhint: 'search',
    maxlength: '100',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    'aria-describedby': `${id}-help`,
  });
  const list = h('ul', { id: listId, class: 'suggest-list', role: 'listbox', 'aria-label': '搜索建议', hidden: true });
  const status = h('div', { id: statusId, class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const help = h('span', { id: `${id}-help`, class: 'visually-hidden' }, '输入时会显示建议，可用上下方向键选择，回车打开');

  let items = [];
  let active = -1;
  let timer = 0;
  let ctl = null;
  let seq = 0;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const setActive = (i) => {
    active = i;
    list.querySelectorAll('[role="option"]').forEach((li, k) => li.setAttribute('aria-selected', k === i ? 'true' : 'false'));
    if (i >= 0) {
      const li = list.children[i];
      input.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };
  const open = (code) => {
    close();
    opts.navigate(`/items/${encodeURIComponent(code)}`);
  };
  const show = (q, found) => {
    items = found;
    replace(
      list,
      found.map((it) => {
        const li = h(
          'li',
          { id: nextId(`${id}-opt`), role: 'option', class: 'suggest-option', 'aria-selected': 'false', dataset: { code: it.code } },
          h('span', { class: 'suggest-name' }, markQuery(it.name, q)),
          it.department || areaOf(it.code) ? h('span', { class: 'suggest-dept' }, it.department || areaOf(it.code)) : null,
        );
        // mousedown keeps focus in the input; click opens the guide.
        li.addEventListener('mousedown', (e) => e.preventDefault());
        li.addEventListener('click', () => open(it.code));
        return li;
      }),
    );
    active = -1;
    input.removeAttribute('aria-activedescendant');
    if (found.length) {
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      status.textContent = `有 ${found.length} 条建议`;
    } else {
      close();
      status.textContent = '';
    }
  };
  const ask = async () => {
    const q = input.value.trim();
    if (ctl) ctl.abort();
    if (!q) {
      show(q, []);
      return;
    }
    ctl = new AbortController();
    const mine = ++seq;
    try {
      const r = await get(withQuery('/api/v1/suggest', { q }), { signal: ctl.signal });
      if (mine !== seq || document.activeElement !== input) return;
      show(q, ((r && r.items) || []).filter((x) => x && x.code && x.name).slice(0, 8));
    } catch {
      /* suggestions are a convenience: failures stay silent, search still works */
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(ask, SUGGEST_DELAY);
  });
  input.addEventListener('keydown', (e) => {
    const n = items.length;
    const isOpen = !list.hidden && n > 0;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!isOpen) {
        if (n) {
          list.hidden = false;
          input.setAttribute('aria-expanded', 'true');
        } else {
          ask();
          return;
        }
      }
      setActive(active + 1 >= n ? 0 : active + 1);
    } else if (e.key === 'ArrowUp') {
      if (!isOpen) return;
      e.preventDefault();
      setActive(active <= 0 ? n - 1 : active - 1);
    } else if (e.key === 'Enter') {
      if (isOpen && active >= 0) {
        e.preventDefault();
        open(items[active].code);
      } else {
        clearTimeout(timer);
        seq++; // a late suggestion must not reopen the list over the results
        close();
      }
    } else if (e.key === 'Escape') {
      if (isOpen) {
        e.preventDefault();
        e.stopPropagation();
        close();
      }
    } else if (e.key === 'Tab') {
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 0));
  input.addEventListener('focus', () => {
    if (items.length && input.value.trim()) {
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }
  });

  const form = h(
    'form',
    {
      class: ['search-form', opts.className],
      role: 'search',
      action: '/search',
      method: 'get',
      on: {
        submit: (e) => {
          e.preventDefault();
          clearTimeout(timer);
          seq++;
          close();
          const q = input.value.trim();
          if (!q) {
            input.focus();
            return;
          }
          opts.navigate(`/search?q=${encodeURIComponent(q)}`);
        },
      },
    },
    h('label', { for: id, class: 'visually-hidden' }, opts.label || '搜索办事事项'),
    h('div', { class: 'search-combo' }, input, list),
    h('button', { type: 'submit', class: 'btn btn-primary search-btn' }, '搜索'),
    help,
    status,
  );
  form.input = input;
  return form;
}

/** Phone numbers in a free-text 咨询电话 field, each as a tel: link. */
export function phoneLinks(text) {
  const t = String(text || '');
  const out = [];
  const re = /(?:\+?86[- ]?)?(?:0\d{2,3}[- ]?)?\d{7,8}(?:-\d{1,5})?|1[3-9]\d{9}|12345|\d{5}/g;
  let i = 0;
  for (const m of t.matchAll(re)) {
    if (m.index > i) out.push(t.slice(i, m.index));
    out.push(h('a', { href: `tel:${m[0].replace(/[^\d+]/g, '')}`, class: 'tel' }, m[0]));
    i = m.index + m[0].length;
  }
  if (i < t.length) out.push(t.slice(i));
  return out;
}
