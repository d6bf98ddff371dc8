/* /apply/{code} and /apply/bundle/{code} — apply online (一网通办) for one
 * service item or a 一件事 bundle, in three steps:
 *
 *   1 填写申请表  the form from GET /api/v1/items/{code}/form (or the bundle's),
 *                prefilled from the account (GET /api/v1/me); field errors from
 *                the API (error.field "form.birth_date") appear at the field.
 *   2 提交材料    item: a draft is created (POST /api/v1/cases, submit:false) so
 *                the server decides which materials it reuses from the e-licence
 *                library (免提交) and which the online form replaces; the rest
 *                are uploaded (POST /api/v1/uploads, then PUT the case) or, where
 *                the item allows it, replaced by a signed 告知承诺. Errors naming
 *                materials[i] appear on that material.
 *                bundle: a bundle draft cannot be submitted (the API handles a
 *                bundle only through its member cases), so the materials are
 *                worked out here from the member items and the caller's
 *                e-licences, and everything is sent in one POST with submit:true.
 *   3 完成        the 受理编号 (case_no) and what happens next.
 *
 * ?case=ID resumes a draft or a case returned for correction (补正). An
 * idempotency key per item (sessionStorage) makes a double click or a retry
 * after a network failure return the same case instead of a second one. */
import { get, post, put, withQuery } from '../api.js';
import { daysText } from '../catalog.js';
import {
  askReason,
  isFormMaterial,
  materialHow,
  STATUS_HINTS,
  statusBadge,
  statusLabel,
  UPLOAD_ACCEPT,
  UPLOAD_MAX,
  uploadFile,
} from '../cases.js';
import { busy, clearFormErrors, field, formAlert, h, nextId, notice, pageTitle, replace, showFormError } from '../dom.js';

const APPLICANT_ROLES = ['citizen', 'company'];

export async function render(main, ctx) {
  const bundleCode = ctx.route.bundle || '';
  const code = bundleCode || ctx.route.code;
  const isBundle = Boolean(bundleCode);
  ctx.setTitle('在线申请');
  replace(main, h('p', { class: 'loading' }, '正在准备申请表…'));

  if (!APPLICANT_ROLES.includes(ctx.user.role)) {
    replace(
      main,
      pageTitle('在线申请', '只有群众（个人）或企业账号可以在线申请。'),
      notice('info', `当前登录的是“${ctx.user.role_name || ctx.user.role}”账号。请退出后用个人或企业账号登录；需要帮办代办的，请到就近的便民服务站。`),
      h('p', null, h('a', { class: 'btn btn-ghost', href: isBundle ? '/' : `/items/${encodeURIComponent(code)}` }, '返回')),
    );
    return;
  }

  const enc = encodeURIComponent(code);
  const sig = { signal: ctx.signal };
  let subject;
  let def;
  let me;
  let licences;
  try {
    [subject, def, me, licences] = await Promise.all([
      get(isBundle ? `/api/v1/bundles/${enc}` : `/api/v1/items/${enc}`, sig),
      get(isBundle ? `/api/v1/bundles/${enc}/form` : `/api/v1/items/${enc}/form`, sig),
      get('/api/v1/me', sig),
      myLicences(ctx.signal),
    ]);
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (e.status === 404) {
      ctx.setTitle('事项不存在');
      replace(
        main,
        pageTitle(isBundle ? '“一件事”不存在' : '事项不存在', `没有编码为 ${code} 的${isBundle ? '“一件事”' : '服务事项'}。`),
        h('p', null, h('a', { href: '/search', class: 'btn btn-primary' }, '搜索办事事项')),
      );
      return;
    }
    throw e;
  }
  if (ctx.signal.aborted) return;
  subject = subject && (subject.item || subject.bundle) ? subject.item || subject.bundle : subject;
  me = me && me.user ? me.user : me;
  const fields = (def && def.fields) || [];
  ctx.setTitle(`在线申请 · ${subject.name}`);

  const head = [
    h(
      'nav',
      { class: 'breadcrumb', 'aria-label': '当前位置' },
      h(
        'ol',
        null,
        h('li', null, h('a', { href: '/' }, '首页')),
        isBundle ? h('li', null, '一件事') : h('li', null, h('a', { href: `/items/${enc}` }, subject.name)),
        h('li', { 'aria-current': 'page' }, '在线申请'),
      ),
    ),
    h(
      'div',
      { class: 'page-head apply-head' },
      h('p', { class: 'guide-kicker' }, isBundle ? '一件事 · 一次申请' : '在线申请'),
      h('h1', { class: 'page-title', tabindex: '-1', id: 'apply-title' }, subject.name),
      h('p', { class: 'page-sub' }, isBundle ? bundleSub(subject) : itemSub(subject)),
    ),
  ];

  if (!isBundle && Number(subject.online_depth) < 2) {
    replace(
      main,
      head,
      notice('warn', `“${subject.name}”暂不支持网上申请，请到办理地点窗口办理，或到就近的便民服务站请工作人员帮办。`),
      h('p', null, h('a', { class: 'btn btn-primary', href: `/items/${enc}` }, '查看办事指南'), ' ', h('a', { class: 'btn btn-ghost', href: '/places' }, '查找服务网点')),
    );
    return;
  }

  // ---- an application of this item already under way? ----
  let draft = null;
  let resumedNote = null;
  if (!isBundle) {
    const caseId = ctx.params.get('case');
    try {
      if (caseId) {
        const c = await get(`/api/v1/cases/${encodeURIComponent(caseId)}`, sig);
        if (c.item_code === subject.code && ['draft', 'returned_for_correction'].includes(c.status)) draft = c;
        else if (c.item_code === subject.code) {
          replace(main, head, underWay(c));
          return;
        }
      } else {
        const open = await get(withQuery('/api/v1/cases', { mine: 1, item: subject.code, status: 'open', limit: 1 }), sig);
        const o = open && open.items && open.items[0];
        if (o) {
          replace(main, head, underWay(o));
          return;
        }
        const drafts = await get(withQuery('/api/v1/cases', { mine: 1, item: subject.code, status: 'draft', limit: 1 }), sig);
        const d = drafts && drafts.items && drafts.items[0];
        if (d) draft = await get(`/api/v1/cases/${d.id}`, sig);
      }
    } catch (e) {
      if (ctx.signal.aborted) return;
      if (e.status !== 404) throw e;
    }
    if (ctx.signal.aborted) return;
    if (draft && draft.status === 'returned_for_correction') {
      const ret = [...(draft.events || [])].reverse().find((e) => e.action === 'return');
      resumedNote = notice('warn', h('strong', null, '申请被退回补正'), ret && ret.reason ? `：${ret.reason}` : '', '。请按要求修改后重新提交。');
    } else if (draft) {
      resumedNote = notice('info', `已为您恢复上次未提交的申请（申请编号 ${draft.case_no}），可以继续填写。`);
    }
  }

  const state = {
    ctx,
    isBundle,
    subject,
    fields,
    me,
    licences,
    draft,
    fileNames: new Map(), // file id → the name the user chose
    bundleItems: null,
    bundleChoices: new Map(), // material name → {by, file_id}
  };

  // ---- the steps ----
  const steps = h(
    'ol',
    { class: 'stepper', id: 'apply-steps', 'aria-label': '申请步骤' },
    ['填写申请表', '提交材料', '完成'].map((t, i) => h('li', { class: 'step-item', dataset: { step: String(i + 1) } }, h('span', { class: 'step-no', 'aria-hidden': 'true' }, String(i + 1)), h('span', { class: 'step-text' }, t))),
  );
  const panel1 = h('section', { class: 'apply-panel', id: 'apply-step-1', 'aria-labelledby': 'apply-step-1-title' });
  const panel2 = h('section', { class: 'apply-panel', id: 'apply-step-2', 'aria-labelledby': 'apply-step-2-title', hidden: true });
  const panel3 = h('section', { class: 'apply-panel', id: 'apply-step-3', 'aria-labelledby': 'apply-done-title', hidden: true });
  state.show = (n) => {
    [panel1, panel2, panel3].forEach((p, i) => {
      p.hidden = i !== n - 1;
    });
    steps.querySelectorAll('.step-item').forEach((li, i) => {
      li.classList.toggle('is-done', i < n - 1);
      if (i === n - 1) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
    const title = [panel1, panel2, panel3][n - 1].querySelector('h2');
    if (title) {
      title.setAttribute('tabindex', '-1');
      title.focus({ preventScroll: true });
      title.scrollIntoView({ block: 'nearest' });
    }
  };
  state.panels = [panel1, panel2, panel3];

  replace(main, head, resumedNote, steps, panel1, panel2, panel3);
  const form = formStep(state);
  replace(panel1, h('h2', { class: 'section-title', id: 'apply-step-1-title' }, '第一步：填写申请表'), form);
  state.show(1);
  // On first arrival focus the page title (the router does that for later navigations).
  if (!main.contains(document.activeElement)) main.querySelector('h1').focus({ preventScroll: true });
}

function itemSub(it) {
  return [it.department, it.promise_days !== undefined && it.promise_days !== null ? `承诺时限 ${daysText(it.promise_days)}` : '']
    .filter(Boolean)
    .join(' · ');
}

function bundleSub(b) {
  const n = (b.items || []).length;
  const how = b.parallel ? '各部门同时办理' : '各部门依次办理';
  const hours = b.promise_hours ? `，承诺 ${b.promise_hours} 个工作小时内办结` : '';
  return `一张表单、一套材料，一次提交 ${n} 个事项，${how}${hours}。`;
}

async function myLicences(signal) {
  try {
    const r = await get('/api/v1/me/licences', { signal });
    return ((r && r.items) || []).filter((l) => l && l.type);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    return []; // the e-licence library is optional here: the server decides anyway
  }
}

function underWay(c) {
  const returned = c.status === 'returned_for_correction';
  return h(
    'div',
    { id: 'apply-under-way' },
    notice(
      returned ? 'warn' : 'info',
      h('p', null, `您已有一件“${c.item_name}”的申请`, returned ? '被退回补正' : '正在办理中', `（受理编号 `, h('span', { class: 'mono' }, c.case_no), `，状态：${statusLabel(c)}），请勿重复申请。`),
    ),
    h(
      'p',
      { class: 'action-row' },
      returned ? h('a', { class: 'btn btn-primary', href: `/apply/${encodeURIComponent(c.item_code)}?case=${c.id}` }, '去补正材料') : null,
      h('a', { class: ['btn', returned ? 'btn-ghost' : 'btn-primary'], href: `/cases/${c.id}` }, '查看办理进度'),
      h('a', { class: 'btn btn-ghost', href: '/me/cases' }, '我的办件'),
    ),
  );
}

/* ---------- step 1: the form ---------- */

const TYPE_HINTS = {
  idcard: '18 位居民身份证号码，末位可能是 X',
  phone: '手机号码或带区号的固定电话',
  credit_code: '18 位统一社会信用代码',
  date: '',
};

function prefillValue(f, me, draft) {
  if (draft && draft.form && draft.form[f.name] !== undefined && draft.form[f.name] !== null) return String(draft.form[f.name]);
  if (!me) return '';
  const byName = {
    name: me.display_name,
    id_number: me.id_number,
    phone: me.phone,
    company_name: me.display_name,
    contact_phone: me.phone,
  };
  const v = byName[f.name];
  // Only values the user really has (never a masked one).
  return v && !String(v).includes('*') ? String(v) : '';
}

function control(f, value) {
  const opts = {
    label: f.label,
    name: `form.${f.name}`,
    required: Boolean(f.required),
    value,
    hint: TYPE_HINTS[f.type] || null,
  };
  switch (f.type) {
    case 'textarea':
      Object.assign(opts, { multiline: true, rows: 3, maxlength: 2000, wide: true });
      break;
    case 'number':
      Object.assign(opts, { type: 'number', inputmode: 'decimal', min: f.min, max: f.max, step: 'any' });
      break;
    case 'date':
      Object.assign(opts, { type: 'date' });
      break;
    case 'select':
      opts.options = [{ value: '', label: '请选择' }, ...(f.options || []).map((o) => ({ value: String(o), label: String(o) }))];
      break;
    case 'idcard':
      Object.assign(opts, { maxlength: 18, autocomplete: 'off' });
      break;
    case 'phone':
      Object.assign(opts, { type: 'tel', inputmode: 'tel', autocomplete: 'tel', maxlength: 20 });
      break;
    case 'credit_code':
      Object.assign(opts, { maxlength: 18, autocomplete: 'off' });
      break;
    default:
      Object.assign(opts, { maxlength: 200 });
  }
  const w = field(opts);
  w.dataset.field = f.name;
  w.dataset.type = f.type;
  return w;
}

/** The form's values as the API wants them; missing: the required fields left empty. */
function collect(form, fields) {
  const out = {};
  const missing = [];
  for (const f of fields) {
    const el = form.elements.namedItem(`form.${f.name}`);
    if (!el) continue;
    let v = String(el.value || '').trim();
    if (f.type === 'idcard' || f.type === 'credit_code') v = v.toUpperCase();
    if (v === '') {
      if (f.required) missing.push(f);
      continue;
    }
    out[f.name] = f.type === 'number' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return { values: out, missing };
}

function formStep(state) {
  const { fields, me, draft } = state;
  const prefilled = !draft && fields.some((f) => prefillValue(f, me, null));
  const form = h(
    'form',
    { class: 'form form-grid apply-form', id: 'apply-form', novalidate: true },
    formAlert(),
    prefilled ? h('p', { class: 'hint field-wide prefill-note' }, '已按您的账号信息预填姓名、证件号码和电话，如有不同请修改。') : null,
    fields.map((f) => control(f, prefillValue(f, me, draft))),
    h(
      'div',
      { class: 'form-actions field-wide' },
      h('button', { type: 'submit', class: 'btn btn-primary', id: 'apply-next' }, '下一步：提交材料'),
      state.isBundle ? null : h('a', { class: 'btn btn-ghost', href: `/items/${encodeURIComponent(state.subject.code)}` }, '返回办事指南'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const { values, missing } = collect(form, fields);
    if (missing.length) {
      // Mark every missing field; the first one ends up focused.
      for (const f of [...missing].reverse()) {
        showFormError(form, { field: `form.${f.name}`, message: `请${f.type === 'select' ? '选择' : '填写'}${f.label}` });
      }
      return;
    }
    state.formValues = values;
    if (state.isBundle) {
      await bundleMaterialsStep(state, form);
      return;
    }
    try {
      await busy(form, () => saveDraft(state, values));
    } catch (err) {
      if (state.ctx.signal.aborted) return;
      if (err.status === 409 && err.field === 'item_code') {
        // Opened twice, or applied elsewhere meanwhile: show what is under way.
        const open = await get(withQuery('/api/v1/cases', { mine: 1, item: state.subject.code, status: 'open', limit: 1 })).catch(() => null);
        const o = open && open.items && open.items[0];
        if (o) {
          replace(state.panels[0], underWay(o));
          return;
        }
      }
      showFormError(form, err);
      return;
    }
    itemMaterialsStep(state);
    state.show(2);
  });
  state.form = form;
  return form;
}

/* ---------- idempotency ---------- */

function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function idemKey(code, fresh = false) {
  const k = `isle.apply.${code}`;
  try {
    let v = fresh ? '' : sessionStorage.getItem(k);
    if (!v) {
      v = randomKey();
      sessionStorage.setItem(k, v);
    }
    return v;
  } catch {
    return randomKey();
  }
}

function forgetKey(code) {
  try {
    sessionStorage.removeItem(`isle.apply.${code}`);
  } catch {
    /* storage disabled */
  }
}

/* ---------- item: draft and materials ---------- */

async function saveDraft(state, values) {
  const code = state.subject.code;
  if (state.draft) {
    if (JSON.stringify(state.draft.form || {}) === JSON.stringify(values)) return;
    state.draft = await put(`/api/v1/cases/${state.draft.id}`, { form: values, version: state.draft.version });
    return;
  }
  const body = { item_code: code, form: values, submit: false, idempotency_key: idemKey(code) };
  let c = await post('/api/v1/cases', body);
  if (c.status !== 'draft') {
    // The key belonged to an earlier application that has moved on: start afresh.
    body.idempotency_key = idemKey(code, true);
    c = await post('/api/v1/cases', body);
  } else if (JSON.stringify(c.form || {}) !== JSON.stringify(values)) {
    c = await put(`/api/v1/cases/${c.id}`, { form: values, version: c.version });
  }
  state.draft = c;
}

/** What the user chose for the materials the server did not fill itself. */
function choicesOf(c) {
  return (c.materials || [])
    .filter((m) => m.satisfied_by === 'upload' || m.satisfied_by === 'commitment')
    .map((m) => (m.satisfied_by === 'upload' ? { idx: m.idx, by: 'upload', file_id: m.file_id } : { idx: m.idx, by: 'commitment' }));
}

function materialIndexOf(fieldName) {
  const m = /^materials\[(\d+)\]/.exec(fieldName || '');
  return m ? Number(m[1]) : -1;
}

function itemMaterialsStep(state) {
  const panel = state.panels[1];
  const alert = formAlert();
  const list = h('ul', { class: 'mat-list', id: 'apply-materials' });
  const submitBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'apply-submit' }, state.draft.status === 'returned_for_correction' ? '重新提交申请' : '提交申请');
  const backBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'apply-back' }, '上一步：修改申请表');
  const licById = new Map(state.licences.map((l) => [l.id, l]));
  const summary = h('p', { class: 'mat-summary', id: 'mat-summary' });

  const rowError = (idx, message) => {
    const li = list.querySelector(`[data-idx="${idx}"]`);
    const slot = li && li.querySelector('.field-error');
    if (!slot) return false;
    slot.textContent = message;
    slot.hidden = false;
    li.classList.add('has-error');
    (li.querySelector('input[type=file]') || li).focus();
    return true;
  };
  const showError = (err) => {
    const idx = materialIndexOf(err.field);
    if (idx >= 0 && rowError(idx, err.message)) return;
    alert.textContent = err.message;
    alert.hidden = false;
    alert.focus?.();
  };
  const clearErrors = () => {
    alert.hidden = true;
    alert.textContent = '';
    for (const li of list.querySelectorAll('.has-error')) li.classList.remove('has-error');
    for (const p of list.querySelectorAll('.field-error')) {
      p.hidden = true;
      p.textContent = '';
    }
  };

  /** PUT the full set of choices with `change` applied for one material. */
  const choose = async (idx, change) => {
    clearErrors();
    const next = choicesOf(state.draft).filter((c) => c.idx !== idx);
    if (change) next.push({ idx, ...change });
    state.draft = await put(`/api/v1/cases/${state.draft.id}`, { materials: next, version: state.draft.version });
    draw();
    const li = list.querySelector(`[data-idx="${idx}"]`);
    if (li) (li.querySelector('.mat-done-focus') || li.querySelector('input, button') || li).focus({ preventScroll: true });
  };

  const draw = () => {
    const mats = state.draft.materials || [];
    const free = mats.filter((m) => m.satisfied_by === 'licence').length;
    const byForm = mats.filter((m) => m.satisfied_by === 'form').length;
    const missing = mats.filter((m) => Number(m.required) && m.satisfied_by === 'none').length;
    replace(
      summary,
      `共 ${mats.length} 项材料`,
      free ? [`，`, h('strong', null, `${free} 项免提交`), '（从电子证照库调取）'] : '',
      byForm ? `，${byForm} 项由在线申请表代替` : '',
      missing ? [`，还需提供 `, h('strong', { class: 'mat-missing-count' }, `${missing} 项`), '。'] : '，必需材料已齐全。',
    );
    replace(list, mats.map((m) => materialRow(state, m, licById, choose, showError)));
  };
  draw();

  backBtn.addEventListener('click', () => state.show(1));
  submitBtn.addEventListener('click', async () => {
    clearErrors();
    const missing = (state.draft.materials || []).filter((m) => Number(m.required) && m.satisfied_by === 'none');
    if (missing.length) {
      for (const m of [...missing].reverse()) rowError(m.idx, state.subject.commitment ? '请上传此材料，或选择告知承诺' : '请上传此材料');
      return;
    }
    submitBtn.disabled = true;
    submitBtn.setAttribute('aria-busy', 'true');
    try {
      const c = await post(`/api/v1/cases/${state.draft.id}/actions/submit`, { version: state.draft.version });
      forgetKey(state.subject.code);
      doneStep(state, c);
    } catch (err) {
      if (err.field && err.field.startsWith('form.')) {
        state.show(1);
        showFormError(state.form, err);
        return;
      }
      if (err.code === 'conflict' && err.field === 'version') {
        state.draft = await get(`/api/v1/cases/${state.draft.id}`).catch(() => state.draft);
        draw();
      }
      showError(err);
    } finally {
      submitBtn.disabled = false;
      submitBtn.removeAttribute('aria-busy');
    }
  });

  replace(
    panel,
    h('h2', { class: 'section-title', id: 'apply-step-2-title' }, '第二步：提交材料'),
    h(
      'p',
      { class: 'hint' },
      '系统已自动从您的电子证照库调取能用的证照（免提交），申请表由在线填写的内容代替。其余材料请上传清晰的扫描件或照片（PDF、JPG 或 PNG，每个不超过 20 MB）',
      state.subject.commitment ? '，本事项也可以签署告知承诺书代替' : '',
      '。',
    ),
    summary,
    alert,
    list,
    h('div', { class: 'form-actions apply-actions' }, submitBtn, backBtn),
    h('p', { class: 'hint draft-note' }, '申请编号 ', h('span', { class: 'mono' }, state.draft.case_no), '：草稿已自动保存，可稍后在“我的办件”中继续。'),
  );
}

function materialRow(state, m, licById, choose, showError) {
  const name = m.name;
  const fixed = m.satisfied_by === 'licence' || m.satisfied_by === 'form';
  const how = materialHow({ ...m, filename: m.file_id ? state.fileNames.get(m.file_id) : '' }, licById);
  const li = h(
    'li',
    { class: ['mat-card', `by-${m.satisfied_by}`], dataset: { idx: String(m.idx), by: m.satisfied_by }, tabindex: '-1' },
    h(
      'div',
      { class: 'mat-card-head' },
      h('span', { class: 'mat-card-name' }, name),
      Number(m.required) ? h('span', { class: 'req-yes' }, '必需') : h('span', { class: 'muted' }, '非必需'),
    ),
    h('div', { class: 'mat-card-how' }, how),
  );
  if (!fixed) {
    const fileId = nextId('mat-file');
    const status = h('span', { class: 'upload-status', role: 'status', 'aria-live': 'polite' });
    const input = h('input', {
      type: 'file',
      id: fileId,
      class: 'file-input',
      accept: UPLOAD_ACCEPT,
      'aria-describedby': `${fileId}-hint`,
      dataset: { idx: String(m.idx) },
    });
    input.addEventListener('change', async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      if (file.size > UPLOAD_MAX) {
        showError({ field: `materials[${m.idx}]`, message: `“${file.name}”超过 20 MB，请压缩后再上传` });
        input.value = '';
        return;
      }
      if (!/\.(pdf|jpe?g|png)$/i.test(file.name) && !/^(application\/pdf|image\/(jpeg|png))$/.test(file.type)) {
        showError({ field: `materials[${m.idx}]`, message: '只能上传 PDF、JPG 或 PNG 文件' });
        input.value = '';
        return;
      }
      input.disabled = true;
      status.textContent = `正在上传“${file.name}”…`;
      try {
        const f = await uploadFile(file);
        state.fileNames.set(f.id, f.filename || file.name);
        await choose(m.idx, { by: 'upload', file_id: f.id });
      } catch (err) {
        status.textContent = '';
        input.disabled = false;
        input.value = '';
        showError(err.field && err.field.startsWith('materials') ? err : { field: `materials[${m.idx}]`, message: err.message });
      }
    });
    const label = m.satisfied_by === 'upload' ? '重新上传' : m.satisfied_by === 'commitment' ? '改为上传文件' : '上传文件';
    const controls = h(
      'div',
      { class: 'mat-card-controls' },
      h(
        'div',
        { class: 'upload-field' },
        input,
        h('label', { for: fileId, class: 'btn btn-ghost btn-small upload-label' }, label),
        h('span', { class: 'hint', id: `${fileId}-hint` }, 'PDF、JPG 或 PNG，不超过 20 MB'),
        status,
      ),
    );
    if (state.subject.commitment && m.satisfied_by !== 'commitment') {
      const btn = h('button', { type: 'button', class: 'btn btn-ghost btn-small commit-btn' }, '改用告知承诺');
      btn.addEventListener('click', async () => {
        await askReason({
          title: '告知承诺书',
          message: `本人承诺：已符合“${state.subject.name}”的办理条件，“${name}”所载内容真实有效，并将按规定补交或接受核查；如有不实，愿意承担相应法律责任，审批决定可被撤销，并记入信用记录。`,
          label: false,
          confirm: '我承诺，签署',
          onSubmit: () => choose(m.idx, { by: 'commitment' }),
        });
      });
      controls.append(btn);
    }
    if (m.satisfied_by === 'upload' || m.satisfied_by === 'commitment') {
      const undo = h('button', { type: 'button', class: 'btn btn-link btn-small mat-clear' }, m.satisfied_by === 'upload' ? '移除文件' : '取消承诺');
      undo.addEventListener('click', async () => {
        try {
          await choose(m.idx, null);
        } catch (err) {
          showError(err);
        }
      });
      controls.append(undo);
    }
    li.append(controls);
    if (m.satisfied_by !== 'none') how.classList.add('mat-done-focus');
  }
  li.append(h('p', { class: 'field-error', hidden: true, role: 'alert' }));
  return li;
}

/* ---------- bundle: materials from the member items ---------- */

async function loadBundleMaterials(state) {
  if (state.bundleItems) return state.bundleItems;
  // GET /api/v1/bundles/{code} lists members as {code, name, …}; the list endpoint as codes.
  const codes = (state.subject.items || []).map((x) => (typeof x === 'string' ? x : x.code)).filter(Boolean);
  const items = await Promise.all(codes.map((c) => get(`/api/v1/items/${encodeURIComponent(c)}`).then((r) => (r && r.item ? r.item : r))));
  const valid = new Set(state.licences.filter((l) => l.status === 'valid').map((l) => l.type));
  const byName = new Map();
  for (const it of items) {
    for (const m of it.materials || []) {
      let e = byName.get(m.name);
      if (!e) {
        e = { name: m.name, required: false, licence: m.licence || '', form: isFormMaterial(m), commitment: true, items: [] };
        byName.set(m.name, e);
      }
      e.required = e.required || Boolean(m.required);
      e.commitment = e.commitment && Boolean(it.commitment);
      e.items.push(it.name);
    }
  }
  for (const e of byName.values()) e.free = Boolean(e.licence && valid.has(e.licence));
  state.bundleItems = { items, materials: [...byName.values()] };
  return state.bundleItems;
}

async function bundleMaterialsStep(state, form) {
  let data;
  try {
    data = await busy(form, () => loadBundleMaterials(state));
  } catch (err) {
    showFormError(form, err);
    return;
  }
  const panel = state.panels[1];
  const alert = formAlert();
  const list = h('ul', { class: 'mat-list', id: 'apply-materials' });
  const submitBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'apply-submit' }, '提交申请');
  const backBtn = h('button', { type: 'button', class: 'btn btn-ghost', id: 'apply-back' }, '上一步：修改申请表');
  const needs = (e) => e.required && !e.free && !e.form;

  const draw = () => {
    replace(
      list,
      data.materials.map((e, i) => {
        const ch = state.bundleChoices.get(e.name);
        const by = e.form ? 'form' : e.free ? 'licence' : ch ? ch.by : 'none';
        const how =
          by === 'licence'
            ? h('span', { class: 'how how-licence' }, h('span', { class: 'badge badge-free' }, '免提交'), h('span', { class: 'how-text' }, `将从您的电子证照库调取“${e.licence}”`))
            : materialHow({ satisfied_by: by, required: e.required, name: e.name, filename: ch && ch.file_id ? state.fileNames.get(ch.file_id) : '' });
        const m = { idx: i, name: e.name, required: e.required ? 1 : 0, satisfied_by: by };
        const li = h(
          'li',
          { class: ['mat-card', `by-${by}`], dataset: { idx: String(i), by, name: e.name }, tabindex: '-1' },
          h('div', { class: 'mat-card-head' }, h('span', { class: 'mat-card-name' }, e.name), e.required ? h('span', { class: 'req-yes' }, '必需') : h('span', { class: 'muted' }, '非必需')),
          h('div', { class: 'mat-card-how' }, how),
          h('p', { class: 'hint mat-for' }, `用于：${e.items.join('、')}`),
        );
        if (by !== 'form' && by !== 'licence') {
          const sub = materialRow({ ...state, subject: { ...state.subject, commitment: e.commitment } }, m, new Map(), async (_idx, change) => {
            if (change) state.bundleChoices.set(e.name, change);
            else state.bundleChoices.delete(e.name);
            draw();
          }, (err) => {
            alert.textContent = err.message;
            alert.hidden = false;
          });
          const controls = sub.querySelector('.mat-card-controls');
          if (controls) li.append(controls);
        }
        li.append(h('p', { class: 'field-error', hidden: true, role: 'alert' }));
        return li;
      }),
    );
  };
  draw();

  const clearErrors = () => {
    alert.hidden = true;
    for (const p of list.querySelectorAll('.field-error')) p.hidden = true;
    for (const li of list.querySelectorAll('.has-error')) li.classList.remove('has-error');
  };
  const rowError = (name, message) => {
    const li = [...list.children].find((x) => x.dataset.name === name);
    if (!li) return false;
    const slot = li.querySelector('.field-error');
    slot.textContent = message;
    slot.hidden = false;
    li.classList.add('has-error');
    li.focus();
    return true;
  };

  backBtn.addEventListener('click', () => state.show(1));
  submitBtn.addEventListener('click', async () => {
    clearErrors();
    const missing = data.materials.filter((e) => needs(e) && !state.bundleChoices.has(e.name));
    if (missing.length) {
      for (const e of [...missing].reverse()) rowError(e.name, e.commitment ? '请上传此材料，或选择告知承诺' : '请上传此材料');
      return;
    }
    const materials = [...state.bundleChoices.entries()].map(([name, c]) => ({ name, ...c }));
    submitBtn.disabled = true;
    submitBtn.setAttribute('aria-busy', 'true');
    try {
      const c = await post('/api/v1/cases', {
        bundle_code: state.subject.code,
        form: state.formValues,
        materials,
        submit: true,
        idempotency_key: idemKey(`bundle.${state.subject.code}`),
      });
      forgetKey(`bundle.${state.subject.code}`);
      doneStep(state, c);
    } catch (err) {
      if (err.field && err.field.startsWith('form.')) {
        state.show(1);
        showFormError(state.form, err);
        return;
      }
      // Member errors name materials[i] of that member's item: find the material by name.
      const hit = data.materials.find((e) => err.message && err.message.includes(e.name));
      if (hit && hit.free) {
        // Expected from the e-licence library but not accepted by the server
        // (expired meanwhile, or not reusable here): ask for the file instead.
        hit.free = false;
        draw();
      }
      if (!(hit && rowError(hit.name, err.message))) {
        alert.textContent = err.message;
        alert.hidden = false;
      }
    } finally {
      submitBtn.disabled = false;
      submitBtn.removeAttribute('aria-busy');
    }
  });

  const free = data.materials.filter((e) => e.free).length;
  replace(
    panel,
    h('h2', { class: 'section-title', id: 'apply-step-2-title' }, '第二步：提交材料'),
    h('p', { class: 'hint' }, `${data.items.length} 个事项共用一套材料，同名材料只需提交一次。`, free ? `其中 ${free} 项可从您的电子证照库调取（免提交）。` : '', '其余材料请上传 PDF、JPG 或 PNG 文件。'),
    alert,
    list,
    h('div', { class: 'form-actions apply-actions' }, submitBtn, backBtn),
  );
  state.show(2);
}

/* ---------- step 3: done ---------- */

function doneStep(state, c) {
  const instant = c.status === 'approved' && c.path === 'instant';
  const promise = c.promise_hours ? `${c.promise_hours} 个工作小时` : c.promise_days !== null && c.promise_days !== undefined ? daysText(c.promise_days) : '';
  replace(
    state.panels[2],
    h(
      'div',
      { class: 'apply-done', id: 'apply-done' },
      h('p', { class: 'done-mark', 'aria-hidden': 'true' }, '✓'),
      h('h2', { class: 'done-title', id: 'apply-done-title' }, instant ? '已智能秒办，审批通过' : '申请已提交'),
      h('p', { class: 'done-label' }, '受理编号'),
      h('p', { class: 'case-no mono', id: 'case-no' }, c.case_no),
      h('p', { class: 'done-status' }, '当前状态：', statusBadge(c)),
      h('p', { class: 'done-hint' }, STATUS_HINTS[c.status] || '', promise && !instant ? ` 承诺办结时限：${promise}（自受理起按工作日计算）。` : ''),
      c.members && c.members.length
        ? h(
            'ul',
            { class: 'done-members' },
            c.members.map((m) =>
              h('li', null, m.item_name, '：', m.status === 'draft' ? h('span', { class: 'case-status tone-muted' }, '等待前一事项') : statusBadge(m)),
            ),
          )
        : null,
      h('p', { class: 'hint done-note' }, '办理进展会通过站内消息和短信通知您，请记下受理编号以便查询。'),
      h(
        'div',
        { class: 'action-row' },
        h('a', { class: 'btn btn-primary', href: `/cases/${c.id}`, id: 'view-case' }, '查看办理进度'),
        h('a', { class: 'btn btn-ghost', href: '/me/cases' }, '我的办件'),
        h('a', { class: 'btn btn-ghost', href: '/' }, '返回首页'),
      ),
    ),
  );
  state.show(3);
}
