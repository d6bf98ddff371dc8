/* dom.js — small DOM helpers. Everything is built with createElement/textContent,
 * never innerHTML with data, and never inline styles (the CSP forbids them). */

/**
 * h('a', {href: '/', class: 'x', dataset: {link: ''}, on: {click: fn}}, 'text', child…)
 * Attribute values of false/null/undefined are skipped; true sets an empty attribute.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
      } else if (k === 'class') {
        el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      } else if (k === 'text') {
        el.textContent = v;
      } else if (k === 'value' && 'value' in el) {
        el.value = v;
      } else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') {
        el[k] = Boolean(v);
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replace all children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique id with a readable prefix. */
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A labelled form field: label, control, optional hint, and an error slot that
 * showFormError() fills. Returns the wrapper; the control is wrapper.control.
 * opts: {label, name, type='text', autocomplete, required, hint, options:[{value,label}],
 *        value, placeholder, inputmode, maxlength, min, max, step, multiline, rows}
 */
export function field(opts) {
  const id = nextId(`f-${opts.name}`);
  const hintId = opts.hint ? `${id}-hint` : null;
  const errId = `${id}-error`;
  const describedBy = [hintId, errId].filter(Boolean).join(' ');
  let control;
  if (opts.options) {
    control = h(
      'select',
      { id, name: opts.name, 'aria-describedby': describedBy, required: opts.required || null },
      opts.options.map((o) => h('option', { value: o.value, selected: o.value === opts.value }, o.label)),
    );
  } else if (opts.multiline) {
    control = h('textarea', {
      id,
      name: opts.name,
      rows: String(opts.rows || 3),
      required: opts.required || null,
      'aria-required': opts.required ? 'true' : null,
      placeholder: opts.placeholder || null,
      maxlength: opts.maxlength || null,
      'aria-describedby': describedBy,
    });
    control.value = opts.value ?? '';
  } else {
    control = h('input', {
      id,
      name: opts.name,
      type: opts.type || 'text',
      autocomplete: opts.autocomplete || null,
      required: opts.required || null,
      'aria-required': opts.required ? 'true' : null,
      placeholder: opts.placeholder || null,
      inputmode: opts.inputmode || null,
      maxlength: opts.maxlength || null,
      min: opts.min ?? null,
      max: opts.max ?? null,
      step: opts.step ?? null,
      spellcheck: opts.type === 'password' || opts.autocomplete ? 'false' : null,
      autocapitalize: opts.type === 'password' || opts.name === 'login' ? 'off' : null,
      'aria-describedby': describedBy,
      value: opts.value ?? null,
    });
  }
  const label = h(
    'label',
    { for: id },
    opts.label,
    opts.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : h('span', { class: 'opt' }, '（选填）'),
  );
  const wrap = h(
    'div',
    { class: ['field', opts.wide && 'field-wide'] },
    label,
    control,
    opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
    h('p', { class: 'field-error', id: errId, hidden: true }),
  );
  wrap.control = control;
  return wrap;
}

/** A form-level alert region (role=alert) to put at the top of a form. */
export function formAlert() {
  return h('div', { class: 'form-alert', role: 'alert', hidden: true });
}

/** Remove every error shown in a form. */
export function clearFormErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  const alert = form.querySelector('.form-alert');
  if (alert) {
    alert.textContent = '';
    alert.hidden = true;
    alert.classList.remove('ok');
  }
}

/**
 * Show an error in a form: next to the field the API named (err.field) when the
 * form has it, otherwise in the form's alert region. Focuses the field.
 * @param {HTMLFormElement} form
 * @param {{message: string, field?: string}} err
 */
export function showFormError(form, err) {
  const name = err.field || '';
  const control = name ? form.elements.namedItem(name) : null;
  if (control && control instanceof HTMLElement) {
    const wrap = control.closest('.field');
    const slot = wrap && wrap.querySelector('.field-error');
    if (slot) {
      slot.textContent = err.message;
      slot.hidden = false;
      control.setAttribute('aria-invalid', 'true');
      control.focus();
      return;
    }
  }
  const alert = form.querySelector('.form-alert');
  if (alert) {
    alert.classList.remove('ok');
    alert.textContent = err.message;
    alert.hidden = false;
    alert.focus?.();
  } else {
    window.alert(err.message);
  }
}

/** Show a success note in the form's alert region. */
export function showFormOk(form, message) {
  const alert = form.querySelector('.form-alert');
  if (!alert) return;
  alert.textContent = message;
  alert.classList.add('ok');
  alert.hidden = false;
}

/** Collect a form's named controls into a plain object of trimmed strings
 *  (passwords are kept exactly as typed). Empty optional values are dropped. */
export function formValues(form, { keepEmpty = [] } = {}) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') {
      out[el.name] = el.checked;
      continue;
    }
    const v = el.type === 'password' ? el.value : el.value.trim();
    if (v === '' && !keepEmpty.includes(el.name)) continue;
    out[el.name] = v;
  }
  return out;
}

/** Disable a form's submit button while a promise runs. */
export async function busy(form, fn) {
  const btns = form.querySelectorAll('button[type="submit"]');
  for (const b of btns) {
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
  }
  try {
    return await fn();
  } finally {
    for (const b of btns) {
      b.disabled = false;
      b.removeAttribute('aria-busy');
    }
  }
}

const dtFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const dFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** "2026-11-28T01:28:00Z" → "2026/11/28 09:28:00" (Asia/Shanghai). */
export function fmtDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dtFmt.format(d);
}

/** ISO instant → "2026/11/28" (Asia/Shanghai). */
export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dFmt.format(d);
}

/** "2026-11-28" (a date in Asia/Shanghai) → UTC ISO instant of that day's start
 *  (or its last second with endOfDay). */
export function shanghaiDayToUtc(day, endOfDay = false) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return '';
  const d = new Date(`${day}T${endOfDay ? '23:59:59' : '00:00:00'}+08:00`);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Client-side masking for display of an already-delivered value (shoulder-surfing guard). */
export function maskMiddle(s, keepStart, keepEnd) {
  if (!s || s.length <= keepStart + keepEnd) return s || '';
  return s.slice(0, keepStart) + '*'.repeat(s.length - keepStart - keepEnd) + s.slice(s.length - keepEnd);
}

/** A page heading that receives focus after navigation. */
export function pageTitle(text, sub) {
  return h(
    'div',
    { class: 'page-head' },
    h('h1', { tabindex: '-1', class: 'page-title' }, text),
    sub ? h('p', { class: 'page-sub' }, sub) : null,
  );
}

/** A status/notice box. kind: info | ok | warn | error */
export function notice(kind, ...children) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}
