/* cases.js — what the applications pages (一网通办) share: the wording of
 * statuses, actions, channels and timeline events, the due-date flags (yellow
 * for due soon, red for overdue, always with words as well as colour), how a
 * material was satisfied, the timeline, the bundle progress bar, a dialog that
 * asks for a reason, and file uploads. The API is described in docs/API.md
 * (Applications) and src/cases/cases.h. */
import { api, ApiError } from './api.js';
import { fmtDate, h, nextId } from './dom.js';

/* ---------- wording ---------- */

export const STATUS_LABELS = {
  draft: '草稿',
  submitted: '已提交',
  accepted: '已受理',
  returned_for_correction: '退回补正',
  rejected_at_intake: '不予受理',
  in_review: '审查中',
  approved: '已批准',
  denied: '不予批准',
  delivered: '已办结',
  withdrawn: '已撤回',
  suspended: '已中止',
};

/** What the applicant should know about each status, in one sentence. */
export const STATUS_HINTS = {
  draft: '申请还没有提交，请补全材料后提交。',
  submitted: '等待窗口受理。',
  accepted: '窗口已受理，正在按承诺时限办理。',
  returned_for_correction: '材料需要补正，请按退回理由修改后重新提交。',
  rejected_at_intake: '申请不予受理。',
  in_review: '办理部门正在审查。',
  approved: '审批已通过，等待办结送达。',
  denied: '审批结果为不予批准。',
  delivered: '办理结果已送达。',
  withdrawn: '本次申请已终止。',
  suspended: '时限暂停计算，恢复后继续办理。',
};

export const ACTION_LABELS = {
  submit: '提交申请',
  accept: '受理',
  return: '退回补正',
  reject: '不予受理',
  review: '开始审查',
  approve: '批准',
  deny: '不予批准',
  deliver: '办结送达',
  withdraw: '撤回申请',
  suspend: '中止办理',
  resume: '恢复办理',
};

/** Actions that need a reason (the API answers 400 "reason" without one). */
export const REASON_REQUIRED = new Set(['return', 'reject', 'deny', 'suspend']);

const EVENT_LABELS = {
  create: '创建申请',
  edit: '修改申请',
  submit: '提交申请',
  accept: '窗口受理',
  return: '退回补正',
  reject: '不予受理',
  review: '进入审查',
  approve: '审批通过',
  deny: '不予批准',
  deliver: '办结送达',
  withdraw: '撤回申请',
  suspend: '中止办理',
  resume: '恢复办理',
  note: '备注',
  assign: '分派经办人',
  rules: '智能秒办规则',
  progress: '各部门开始办理',
  finish: '“一件事”办结',
  revoke: '撤销审批决定',
  overdue: '超过办结时限（系统督办提醒）',
};

export const CHANNELS = { online: '网上申请', window: '窗口申请', assisted: '帮办代办', station: '便民服务站' };
export const PATHS = { normal: '一般程序', commitment: '告知承诺', instant: '智能秒办' };

/** Status tone for colour: the words carry the meaning, the colour repeats it. */
const TONES = {
  draft: 'muted',
  submitted: 'info',
  accepted: 'info',
  in_review: 'info',
  returned_for_correction: 'warn',
  suspended: 'warn',
  approved: 'ok',
  delivered: 'ok',
  denied: 'error',
  rejected_at_intake: 'error',
  withdrawn: 'muted',
};

export function statusLabel(c) {
  return c.status_label || STATUS_LABELS[c.status] || c.status;
}

/** A status pill. */
export function statusBadge(c) {
  return h('span', { class: ['case-status', `tone-${TONES[c.status] || 'info'}`], dataset: { status: c.status } }, statusLabel(c));
}

/** "1", "0.5", "2.5" — working days without trailing zeros. */
export function num(n) {
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  return String(Math.round(x * 100) / 100);
}

/** The remaining working days in words ('' when no clock runs). */
export function remainingText(c) {
  if (!c.due || c.remaining_days === null || c.remaining_days === undefined) return '';
  const n = Number(c.remaining_days);
  if (c.due === 'overdue') return n < 0 ? `已超期 ${num(-n)} 个工作日` : '超期不足 1 个工作日';
  if (n <= 0) return '今日到期';
  return `剩余 ${num(n)} 个工作日`;
}

/** The due flag: red 已超期, yellow 即将到期, or a quiet 按时办理 (null when no clock). */
export function dueBadge(c, { quiet = false } = {}) {
  if (c.due === 'overdue') return h('span', { class: 'due-flag due-overdue' }, '已超期');
  if (c.due === 'due_soon') return h('span', { class: 'due-flag due-soon' }, '即将到期');
  if (c.due === 'on_time' && !quiet) return h('span', { class: 'due-flag due-ok' }, '按时办理');
  return null;
}

const minuteFmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/** ISO instant → "2026/11/30 17:30" (Asia/Shanghai). */
export function fmtMinute(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : minuteFmt.format(d);
}

/** The deadline cell: date and time, the flag, and the remaining days. */
export function deadlineCell(c) {
  if (!c.deadline_at) return h('span', { class: 'muted' }, c.status === 'submitted' ? '受理后起算' : '—');
  const open = Boolean(c.due);
  return h(
    'span',
    { class: 'deadline' },
    h('span', { class: 'deadline-at' }, open ? fmtMinute(c.deadline_at) : fmtDate(c.deadline_at)),
    dueBadge(c, { quiet: true }),
    open && remainingText(c) ? h('span', { class: 'deadline-left' }, remainingText(c)) : null,
  );
}

/** The row class for a queue row or card by its due state. */
export function dueClass(c) {
  return c.due === 'overdue' ? 'is-overdue' : c.due === 'due_soon' ? 'is-due-soon' : null;
}

/* ---------- materials ---------- */

/** Mirrors the server's rule (src/cases/cases.c is_form_material): application
 *  forms are replaced by the online form. */
export function isFormMaterial(m) {
  if (m.form === '表格') return true;
  return /申请表|申请书|登记表|申报表/.test(m.name || '');
}

/** How a case material is satisfied, as a badge and a sentence. licences: id →
 *  licence (from /api/v1/me/licences, may be empty). */
export function materialHow(m, licences = new Map()) {
  switch (m.satisfied_by) {
    case 'licence': {
      const l = m.licence_id ? licences.get(m.licence_id) : null;
      const until = l && l.valid_until ? `，有效期至 ${l.valid_until}` : l ? '，长期有效' : '';
      return h(
        'span',
        { class: 'how how-licence' },
        h('span', { class: 'badge badge-free' }, '免提交'),
        h('span', { class: 'how-text' }, `已从电子证照库调取“${m.licence_type || m.name}”${until}`),
      );
    }
    case 'commitment':
      return h('span', { class: 'how how-commit' }, h('span', { class: 'badge badge-commit' }, '告知承诺'), h('span', { class: 'how-text' }, '以签署的告知承诺书代替，审批后核查'));
    case 'upload':
      return h('span', { class: 'how how-upload' }, h('span', { class: 'badge badge-days' }, '已上传'), h('span', { class: 'how-text' }, m.filename ? m.filename : '申请人上传的电子文件'));
    case 'form':
      return h('span', { class: 'how how-form' }, h('span', { class: 'badge badge-instant-done' }, '在线填写'), h('span', { class: 'how-text' }, '由在线申请表代替'));
    default:
      return Number(m.required)
        ? h('span', { class: 'how how-none' }, h('span', { class: 'badge badge-missing' }, '缺少'), h('span', { class: 'how-text' }, '尚未提供'))
        : h('span', { class: 'how how-none' }, h('span', { class: 'muted' }, '未提供（非必需）'));
  }
}

/** Upload one file (POST /api/v1/uploads, multipart). Resolves with {id, filename, …}. */
export async function uploadFile(file, opts = {}) {
  const fd = new FormData();
  fd.append('file', file, file.name);
  const r = await api('POST', '/api/v1/uploads', fd, opts);
  const f = r && r.files && r.files[0];
  if (!f) throw new ApiError(500, 'bad_response', '上传失败，请重试', '');
  return f;
}

export const UPLOAD_ACCEPT = '.pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png';
export const UPLOAD_MAX = 20 * 1024 * 1024;

/* ---------- timeline and progress ---------- */

/** The events of a case, oldest first, as an ordered list. */
export function timeline(events) {
  const list = (events || []).filter((e) => e.action !== 'edit' || e.reason);
  if (!list.length) return h('p', { class: 'muted' }, '暂无办理记录。');
  return h(
    'ol',
    { class: 'timeline', id: 'timeline' },
    list.map((e, i) => {
      const label = EVENT_LABELS[e.action] || ACTION_LABELS[e.action] || e.action;
      const changed = e.to_status && e.from_status !== e.to_status;
      return h(
        'li',
        { class: ['tl-item', i === list.length - 1 && 'tl-last', `tl-${e.action}`], dataset: { action: e.action } },
        h('span', { class: 'tl-dot', 'aria-hidden': 'true' }),
        h(
          'div',
          { class: 'tl-body' },
          h(
            'p',
            { class: 'tl-head' },
            h('strong', { class: 'tl-label' }, label),
            changed && e.to_label && e.action !== 'create' ? h('span', { class: 'tl-to' }, `→ ${e.to_label}`) : null,
          ),
          h(
            'p',
            { class: 'tl-meta' },
            h('time', { datetime: e.at }, fmtMinute(e.at)),
            ' · ',
            e.actor_name || '系统',
          ),
          e.reason ? h('p', { class: ['tl-reason', e.action === 'note' && 'tl-note'] }, e.action === 'note' ? e.reason : `理由：${e.reason}`) : null,
        ),
      );
    }),
  );
}

/** A labelled progress bar (<progress>, no inline width). */
export function progressBar(done, total, label) {
  const id = nextId('progress');
  const pct = total ? Math.round((done / total) * 100) : 0;
  return h(
    'div',
    { class: 'progress-wrap' },
    h('label', { for: id, class: 'progress-label' }, label || '办理进度', h('span', { class: 'progress-count' }, ` ${done} / ${total}（${pct}%）`)),
    h('progress', { id, class: 'progress', max: String(total || 1), value: String(done) }, `${pct}%`),
  );
}

/* ---------- dialogs ---------- */

/**
 * Ask for a reason (or just a confirmation) in a modal dialog. Resolves with the
 * trimmed text ('' when optional and left empty) or null when cancelled. The
 * dialog is appended to `host` and removed afterwards.
 * opts: {host, title, message, label, required, confirm, danger, onSubmit}
 * onSubmit(text) may throw an ApiError: it is shown in the dialog, which stays open.
 */
export function askReason(opts) {
  return new Promise((resolve) => {
    const id = nextId('reason');
    const titleId = `${id}-title`;
    const ta = h('textarea', {
      id: `${id}-text`,
      name: 'reason',
      rows: '4',
      maxlength: '500',
      required: opts.required || null,
      'aria-required': opts.required ? 'true' : null,
      'aria-describedby': `${id}-err`,
    });
    const err = h('p', { class: 'field-error', id: `${id}-err`, hidden: true, role: 'alert' });
    const ok = h('button', { type: 'submit', class: ['btn', opts.danger ? 'btn-danger' : 'btn-primary'] }, opts.confirm || '确定');
    const cancel = h('button', { type: 'button', class: 'btn btn-ghost' }, '取消');
    const close = h('button', { type: 'button', class: 'btn btn-ghost dialog-close', 'aria-label': '关闭' }, '×');
    const form = h(
      'form',
      { class: 'form', novalidate: true, method: 'dialog' },
      opts.message ? h('p', { class: 'dialog-msg' }, opts.message) : null,
      opts.label === false
        ? null
        : h(
            'div',
            { class: 'field' },
            h(
              'label',
              { for: ta.id },
              opts.label || '理由',
              opts.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : h('span', { class: 'opt' }, '（选填）'),
            ),
            ta,
            err,
          ),
      opts.label === false ? err : null,
      h('div', { class: 'form-actions' }, ok, cancel),
    );
    const dlg = h(
      'dialog',
      { class: 'dialog reason-dialog', id, 'aria-labelledby': titleId },
      h('div', { class: 'dialog-head' }, h('h2', { id: titleId, class: 'panel-title' }, opts.title), close),
      form,
    );
    let result = null;
    const finish = () => dlg.close();
    cancel.addEventListener('click', finish);
    close.addEventListener('click', finish);
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.hidden = true;
      ta.removeAttribute('aria-invalid');
      const text = ta.value.trim();
      if (opts.required && !text) {
        err.textContent = `请填写${opts.label || '理由'}`;
        err.hidden = false;
        ta.setAttribute('aria-invalid', 'true');
        ta.focus();
        return;
      }
      if (opts.onSubmit) {
        ok.disabled = true;
        ok.setAttribute('aria-busy', 'true');
        try {
          await opts.onSubmit(text);
        } catch (ex) {
          err.textContent = ex && ex.message ? ex.message : String(ex);
          err.hidden = false;
          if (opts.label !== false && (!ex.field || ex.field === 'reason')) ta.focus();
          return;
        } finally {
          ok.disabled = false;
          ok.removeAttribute('aria-busy');
        }
      }
      result = text;
      finish();
    });
    (opts.host || document.body).appendChild(dlg);
    dlg.showModal();
    (opts.label === false ? ok : ta).focus();
  });
}

/* ---------- lists ---------- */

/** Previous/next paging for a list whose URL is url(page). */
export function pager(total, page, perPage, url, label) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (pages <= 1) return h('nav', { class: 'pager', 'aria-label': label });
  const link = (p, text) =>
    p < 1 || p > pages
      ? h('span', { class: 'btn btn-ghost', 'aria-disabled': 'true' }, text)
      : h('a', { class: 'btn btn-ghost', href: url(p), rel: p < page ? 'prev' : 'next' }, text);
  return h(
    'nav',
    { class: 'pager', 'aria-label': label },
    link(page - 1, '上一页'),
    h('span', { class: 'pager-info' }, `第 ${page} / ${pages} 页`),
    link(page + 1, '下一页'),
  );
}
