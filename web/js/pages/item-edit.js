/* /items/{code}/edit — staff, approver, admin: edit a service item's main fields
 * and its materials (rows can be added and removed), PUT /api/v1/items/{code}
 * with the full item, and see the version history (GET …/versions).
 * An API error naming a field ("phone", "keywords[1]", "materials[2].form") is
 * shown next to that input, in the right materials row. */
import { get, put } from '../api.js';
import { busy, clearFormErrors, field, fmtDateTime, formAlert, h, nextId, notice, replace, showFormOk } from '../dom.js';

const TYPES = ['行政许可', '行政确认', '行政给付', '行政裁决', '行政奖励', '其他行政权力', '公共服务'];
const LEVELS = ['市级', '区县级', '乡镇（街道）级', '村（社区）级'];
const HANDLE_AT = ['市行政服务中心', '区县行政服务中心', '乡镇（街道）便民服务中心', '村（社区）便民服务站', '浙里办', '帮办代办'];
const SCOPES = ['跨省通办', '全省通办', '甬舟通办'];
const FORMS = ['原件', '复印件', '电子证照', '表格'];
const SOURCES = ['申请人自备', '政府部门核发', '窗口领取', '告知承诺书'];
const DEPTHS = [
  ['1', '一级 · 办事指南'],
  ['2', '二级 · 表格下载'],
  ['3', '三级 · 在线预审'],
  ['4', '四级 · 全程网办'],
];
// The item format of the catalog (data/catalog README); anything else the GET
// answer carries (version, updated_at, bundles, licence details) is not sent back.
const ITEM_KEYS = [
  'code', 'name', 'type', 'department', 'level', 'handle_at', 'legal_days', 'promise_days', 'fee', 'online_depth',
  'visits', 'scope', 'commitment', 'instant', 'conditions', 'process', 'basis', 'place', 'hours', 'phone', 'result',
  'materials', 'keywords', 'faq',
];
const MATERIAL_KEYS = ['name', 'required', 'form', 'copies', 'source', 'licence'];

export async function render(main, ctx) {
  const code = ctx.route.code;
  const path = `/api/v1/items/${encodeURIComponent(code)}`;
  ctx.setTitle('编辑事项');
  replace(main, h('p', { class: 'loading' }, '正在加载事项…'));
  let item = await get(path, { signal: ctx.signal });
  if (ctx.signal.aborted) return;
  item = item && item.item ? item.item : item;
  ctx.setTitle(`编辑：${item.name}`);

  const versionInfo = h('p', { class: 'page-sub', id: 'item-version' });
  const showVersion = (it) => {
    replace(
      versionInfo,
      h('span', { class: 'mono' }, it.code),
      it.version !== undefined ? [' · 当前第 ', h('strong', { id: 'version-no' }, String(it.version)), ' 版'] : null,
      it.updated_at ? ` · 更新于 ${fmtDateTime(it.updated_at)}` : null,
    );
  };
  showVersion(item);

  const historyBox = h('div', { class: 'versions', id: 'versions', 'aria-live': 'polite' }, h('p', { class: 'loading' }, '正在加载版本记录…'));
  const licenceTypes = new Set((item.materials || []).map((m) => m.licence).filter(Boolean));

  /* ---- main fields ---- */
  const f = {
    name: field({ label: '事项名称', name: 'name', required: true, value: item.name, wide: true }),
    type: field({ label: '事项类型', name: 'type', required: true, options: opts(TYPES, item.type), value: item.type }),
    level: field({ label: '行使层级', name: 'level', required: true, options: opts(LEVELS, item.level), value: item.level }),
    department: field({ label: '实施部门', name: 'department', required: true, value: item.department, wide: true }),
    legal_days: field({ label: '法定办结时限（工作日）', name: 'legal_days', type: 'number', inputmode: 'decimal', min: 0, step: 0.5, required: true, value: num(item.legal_days), hint: '0 表示即办' }),
    promise_days: field({ label: '承诺办结时限（工作日）', name: 'promise_days', type: 'number', inputmode: 'decimal', min: 0, step: 0.5, required: true, value: num(item.promise_days), hint: '0 表示即办，可填 0.5' }),
    fee: field({ label: '收费标准', name: 'fee', required: true, value: item.fee, hint: '如“不收费”' }),
    online_depth: field({ label: '办理深度', name: 'online_depth', required: true, options: DEPTHS.map(([value, label]) => ({ value, label })), value: String(item.online_depth ?? '') }),
    visits: field({ label: '到现场次数', name: 'visits', required: true, options: ['0', '1', '2'].map((v) => ({ value: v, label: v === '0' ? '0 次（零跑动）' : `${v} 次` })), value: String(item.visits ?? '') }),
    phone: field({ label: '咨询电话', name: 'phone', type: 'tel', required: true, value: item.phone, inputmode: 'tel' }),
    hours: field({ label: '办理时间', name: 'hours', required: true, value: item.hours, wide: true }),
    place: field({ label: '办理地点', name: 'place', required: true, multiline: true, rows: 2, value: item.place, wide: true, hint: '多个地点用“；”分隔' }),
    conditions: field({ label: '受理条件', name: 'conditions', required: true, multiline: true, rows: 4, value: item.conditions, wide: true }),
    process: field({ label: '办理流程', name: 'process', required: true, multiline: true, rows: 4, value: (item.process || []).join('\n'), wide: true, hint: '每行一个步骤，如“受理：窗口核验材料”' }),
    basis: field({ label: '设定依据', name: 'basis', required: true, multiline: true, rows: 2, value: item.basis, wide: true }),
    result: field({ label: '办理结果', name: 'result', required: true, value: item.result, wide: true }),
    keywords: field({ label: '关键词', name: 'keywords', required: true, value: (item.keywords || []).join('、'), wide: true, hint: '用顿号或逗号分隔，2–6 个' }),
  };
  const flags = {
    commitment: checkField('commitment', '可告知承诺', item.commitment),
    instant: checkField('instant', '智能秒办', item.instant),
  };
  const handleAt = checkGroup('handle_at', '可办理渠道', HANDLE_AT, item.handle_at || []);
  const scope = checkGroup('scope', '通办范围', SCOPES, item.scope || []);

  /* ---- materials ---- */
  const rowsBox = h('div', { class: 'mat-rows', id: 'mat-rows' });
  const licList = h('datalist', { id: 'licence-types' });
  const refreshLicences = () => replace(licList, [...licenceTypes].sort().map((t) => h('option', { value: t })));
  refreshLicences();
  get('/api/v1/licences', { signal: ctx.signal })
    .then((r) => {
      for (const l of (r && r.items) || []) if (l && l.type) licenceTypes.add(l.type);
      refreshLicences();
    })
    .catch(() => {}); // the list only helps typing; the API still checks the value
  const addBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'add-material' }, '＋ 添加材料');
  const matStatus = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const renumber = () => {
    [...rowsBox.children].forEach((row, i) => {
      row.querySelector('legend').textContent = `材料 ${i + 1}`;
      for (const el of row.querySelectorAll('[data-key]')) el.name = `materials[${i}].${el.dataset.key}`;
      const del = row.querySelector('.mat-remove');
      del.setAttribute('aria-label', `删除材料 ${i + 1}`);
    });
  };
  const addRow = (m, focus) => {
    const row = materialRow(m || { name: '', required: true, form: '原件', copies: 1, source: '申请人自备', licence: null });
    row.querySelector('.mat-remove').addEventListener('click', () => {
      const idx = [...rowsBox.children].indexOf(row);
      const label = row.querySelector('[data-key="name"]').value.trim();
      row.remove();
      renumber();
      matStatus.textContent = `已删除材料 ${idx + 1}${label ? `：${label}` : ''}`;
      const next = rowsBox.children[idx] || rowsBox.children[idx - 1];
      (next ? next.querySelector('[data-key="name"]') : addBtn).focus();
    });
    rowsBox.append(row);
    renumber();
    if (focus) row.querySelector('[data-key="name"]').focus();
  };
  for (const m of item.materials || []) addRow(m, false);
  addBtn.addEventListener('click', () => {
    addRow(null, true);
    matStatus.textContent = `已添加材料 ${rowsBox.children.length}`;
  });

  const form = h(
    'form',
    { class: 'form item-form', id: 'item-form', novalidate: true },
    formAlert(),
    fieldset('基本信息', 'form-grid', [f.name, f.type, f.level, f.department, handleAt]),
    fieldset('时限、收费和办理方式', 'form-grid', [f.legal_days, f.promise_days, f.fee, f.online_depth, f.visits, scope, flags.commitment, flags.instant]),
    fieldset('办理信息', 'form-grid', [f.conditions, f.process, f.place, f.hours, f.phone, f.result, f.basis, f.keywords]),
    h(
      'fieldset',
      { class: 'form-section mat-section' },
      h('legend', { class: 'form-section-title' }, '申请材料'),
      h('p', { class: 'hint' }, '“电子证照类型”填写后，群众办理时可从电子证照库调取，显示为“免提交”。'),
      h('div', { class: 'field mat-field' }, h('input', { type: 'hidden', name: 'materials', value: '' }), h('p', { class: 'field-error', hidden: true })),
      rowsBox,
      licList,
      h('div', null, addBtn),
      matStatus,
    ),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-item' }, '保存'),
      h('a', { class: 'btn btn-ghost', href: `/items/${encodeURIComponent(code)}` }, '返回办事指南'),
    ),
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const missing = [...form.querySelectorAll('[required]')].find((el) => !el.value.trim());
    if (missing) {
      const label = form.querySelector(`label[for="${CSS.escape(missing.id)}"]`);
      const what = label ? label.firstChild.textContent.trim() : '此项';
      showItemError(form, { field: missing.name, message: `请填写${what}` });
      return;
    }
    const body = collect(item, form, f, flags, handleAt, scope, rowsBox);
    try {
      let saved = await busy(form, () => put(path, body));
      saved = saved && saved.item ? saved.item : saved;
      if (saved && saved.code) item = saved;
      else item = await get(path);
      for (const m of item.materials || []) if (m.licence) licenceTypes.add(m.licence);
      refreshLicences();
      showVersion(item);
      showFormOk(form, item.version !== undefined ? `已保存，当前为第 ${item.version} 版。` : '已保存。');
      form.querySelector('.form-alert').focus();
      loadVersions();
    } catch (err) {
      showItemError(form, err);
    }
  });

  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, `编辑事项：${item.name}`), versionInfo),
      h('a', { class: 'btn btn-ghost', href: `/items/${encodeURIComponent(code)}` }, '查看办事指南'),
    ),
    h('div', { class: 'edit-layout' }, form, h('section', { class: 'panel versions-panel', 'aria-labelledby': 'versions-title' }, h('h2', { class: 'panel-title', id: 'versions-title' }, '版本记录'), historyBox)),
  );
  form.querySelector('.form-alert').setAttribute('tabindex', '-1');

  async function loadVersions() {
    let r;
    try {
      r = await get(`${path}/versions`, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(historyBox, notice('error', `版本记录加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const list = ((r && (r.items || r.versions)) || []).slice().sort((a, b) => (b.version || 0) - (a.version || 0));
    if (!list.length) {
      replace(historyBox, h('p', { class: 'muted' }, '暂无版本记录。'));
      return;
    }
    replace(
      historyBox,
      h(
        'ol',
        { class: 'version-list', id: 'version-list' },
        list.map((v, i) => {
          const changed = Array.isArray(v.changed) ? v.changed : diffKeys(list[i + 1] && list[i + 1].item, v.item);
          return h(
            'li',
            { class: 'version', dataset: { version: String(v.version ?? '') } },
            h('span', { class: 'version-no' }, `第 ${v.version ?? '?'} 版`, i === 0 ? h('span', { class: 'badge badge-days' }, '当前') : null),
            h('span', { class: 'version-meta' }, [fmtDateTime(v.changed_at || v.updated_at || v.at), who(v)].filter(Boolean).join(' · ')),
            changed && changed.length ? h('span', { class: 'version-note' }, `修改了：${changed.map((k) => LABELS[k] || k).join('、')}`) : null,
            !list[i + 1] && v.version === 1 ? h('span', { class: 'version-note' }, '首次导入') : null,
          );
        }),
      ),
    );
  }
  loadVersions();
}

function who(v) {
  const a = v.changed_by || v.actor_login || v.updated_by || v.actor;
  return a ? `${a}` : '';
}

const LABELS = {
  name: '事项名称', type: '事项类型', department: '实施部门', level: '行使层级', handle_at: '办理渠道',
  legal_days: '法定时限', promise_days: '承诺时限', fee: '收费', online_depth: '办理深度', visits: '跑动次数',
  scope: '通办范围', commitment: '告知承诺', instant: '秒办', conditions: '受理条件', process: '办理流程',
  basis: '设定依据', place: '办理地点', hours: '办理时间', phone: '咨询电话', result: '办理结果',
  materials: '申请材料', keywords: '关键词', faq: '常见问题',
};

/** Keys whose values differ between two versions of an item (null when unknown). */
function diffKeys(before, after) {
  if (!before || !after || typeof before !== 'object' || typeof after !== 'object') return null;
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

function num(v) {
  return v === undefined || v === null ? '' : String(v);
}

function opts(list, current) {
  const all = current && !list.includes(current) ? [current, ...list] : list;
  return all.map((v) => ({ value: v, label: v }));
}

function fieldset(title, cls, children) {
  return h('fieldset', { class: ['form-section', cls] }, h('legend', { class: 'form-section-title' }, title), children);
}

/** A single checkbox with an error slot (the .field wrapper showItemError looks for). */
function checkField(name, label, checked) {
  const id = nextId(`f-${name}`);
  const box = h('input', { type: 'checkbox', id, name, class: 'check', checked: Boolean(checked), 'aria-describedby': `${id}-error` });
  return h('div', { class: 'field field-check' }, h('div', { class: 'check-row' }, box, h('label', { for: id }, label)), h('p', { class: 'field-error', id: `${id}-error`, hidden: true }));
}

/** A group of checkboxes sharing one name (values = the labels). */
function checkGroup(name, title, values, checked) {
  const all = [...values, ...checked.filter((c) => !values.includes(c))];
  const errId = nextId(`f-${name}-error`);
  return h(
    'fieldset',
    { class: 'field field-wide check-group', dataset: { group: name } },
    h('legend', null, title),
    h(
      'div',
      { class: 'check-grid' },
      all.map((v) => {
        const id = nextId(`f-${name}`);
        return h('div', { class: 'check-row' }, h('input', { type: 'checkbox', id, name, value: v, class: 'check', checked: checked.includes(v), 'aria-describedby': errId }), h('label', { for: id }, v));
      }),
    ),
    h('p', { class: 'field-error', id: errId, hidden: true }),
  );
}

function materialRow(m) {
  const ctl = (wrap, key) => {
    wrap.control.dataset.key = key;
    return wrap;
  };
  const name = ctl(field({ label: '材料名称', name: 'mat-name', required: true, value: m.name || '' }), 'name');
  const form = ctl(field({ label: '材料形式', name: 'mat-form', required: true, options: opts(FORMS, m.form), value: m.form || '原件' }), 'form');
  const copies = ctl(field({ label: '份数', name: 'mat-copies', type: 'number', inputmode: 'numeric', min: 0, step: 1, required: true, value: num(m.copies ?? 1) }), 'copies');
  const source = ctl(field({ label: '来源', name: 'mat-source', required: true, options: opts(SOURCES, m.source), value: m.source || '申请人自备' }), 'source');
  const licence = ctl(field({ label: '电子证照类型', name: 'mat-licence', value: m.licence || '', placeholder: '不可复用则留空' }), 'licence');
  licence.control.setAttribute('list', 'licence-types');
  const reqId = nextId('f-mat-required');
  const required = h('input', { type: 'checkbox', id: reqId, class: 'check', checked: m.required !== false, dataset: { key: 'required' } });
  const reqField = h('div', { class: 'field field-check' }, h('div', { class: 'check-row' }, required, h('label', { for: reqId }, '必需材料')), h('p', { class: 'field-error', hidden: true }));
  return h(
    'fieldset',
    { class: 'mat-row' },
    h('legend', { class: 'mat-legend' }, '材料'),
    h('div', { class: 'mat-grid' }, name, form, copies, source, licence, reqField),
    h('button', { type: 'button', class: 'btn btn-danger-ghost btn-small mat-remove' }, '删除'),
  );
}

function splitList(s) {
  return String(s || '')
    .split(/[、,，;；\n]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

function toNumber(v) {
  const t = String(v).trim();
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t; // let the API name a non-number
}

function collect(item, form, f, flags, handleAt, scope, rowsBox) {
  const body = {};
  for (const k of ITEM_KEYS) if (item[k] !== undefined) body[k] = item[k];
  body.code = item.code;
  if (Number.isInteger(item.version) && item.version > 0) body.version = item.version; // optimistic check (409 on a concurrent edit)
  const val = (w) => w.control.value.trim();
  for (const k of ['name', 'type', 'level', 'department', 'fee', 'phone', 'hours', 'place', 'conditions', 'basis', 'result']) body[k] = val(f[k]);
  body.legal_days = toNumber(f.legal_days.control.value);
  body.promise_days = toNumber(f.promise_days.control.value);
  body.online_depth = toNumber(f.online_depth.control.value);
  body.visits = toNumber(f.visits.control.value);
  body.process = String(f.process.control.value)
    .split('\n')
    .map((x) => x.trim())
    .filter(Boolean);
  body.keywords = splitList(f.keywords.control.value);
  body.commitment = flags.commitment.querySelector('input').checked;
  body.instant = flags.instant.querySelector('input').checked;
  body.handle_at = [...handleAt.querySelectorAll('input:checked')].map((x) => x.value);
  body.scope = [...scope.querySelectorAll('input:checked')].map((x) => x.value);
  body.materials = [...rowsBox.children].map((row) => {
    const g = (k) => row.querySelector(`[data-key="${k}"]`);
    const m = {};
    for (const k of MATERIAL_KEYS) {
      const el = g(k);
      if (k === 'required') m[k] = el.checked;
      else if (k === 'copies') m[k] = toNumber(el.value);
      else if (k === 'licence') m[k] = el.value.trim() || null;
      else m[k] = el.value.trim();
    }
    return m;
  });
  if (!body.faq) body.faq = [];
  return body;
}

/**
 * Show an API error at the input it names. Names are tried as given, then
 * shortened: "materials[2].form" → the form select of row 3; "keywords[1]" →
 * the keywords input; "materials[2]" → row 3's name; "materials" → the list.
 */
function showItemError(form, err) {
  const target = resolveField(form, err.field || '');
  const wrap = target && (target.closest('.field') || target.closest('.check-group'));
  const slot = wrap && wrap.querySelector(':scope > .field-error');
  if (slot) {
    slot.textContent = err.message;
    slot.hidden = false;
    if (target.type !== 'hidden') {
      target.setAttribute('aria-invalid', 'true');
      target.focus();
    } else {
      wrap.scrollIntoView({ block: 'center' });
    }
    return;
  }
  const alert = form.querySelector('.form-alert');
  alert.classList.remove('ok');
  if (err.status === 409) {
    // Someone else saved in between: their version must not be overwritten blindly.
    replace(alert, `${err.message} `, h('a', { href: location.pathname, 'data-native': '' }, '重新载入最新版本'), '（本页未保存的修改会丢失，请先记下）');
  } else {
    alert.textContent = err.field ? `${err.message}（${err.field}）` : err.message;
  }
  alert.hidden = false;
  alert.focus();
}

function resolveField(form, name) {
  if (!name) return null;
  let n = name.replace(/\[(\d+)\]\[["']?(\w+)["']?\]/g, '[$1].$2').replace(/\.(\d+)(?=\.|$)/g, '[$1]'); // a[1][b], a.1.b → a[1].b
  for (;;) {
    const el = form.querySelector(`[name="${CSS.escape(n)}"]`);
    if (el) return el;
    const m = /^materials\[(\d+)\]$/.exec(n);
    if (m) {
      const el2 = form.querySelector(`[name="materials[${m[1]}].name"]`);
      if (el2) return el2;
    }
    const shorter = n.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
    if (shorter === n) return null;
    n = shorter;
  }
}
