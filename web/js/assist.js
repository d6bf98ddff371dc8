/* assist.js — shared pieces of the 办事不出岛 pages (帮办代办): the resident's
 * 帮我办 booking and request pages, the agent's phone inbox and the staff
 * dispatch board. The API is described in docs/API.md ("Stations, agents and
 * assisted requests"); the rules live in src/island/assist.h. */
import { get, withQuery } from './api.js';
import { h } from './dom.js';

export const STATUS_LABELS = {
  new: '待派单',
  dispatched: '已派单',
  accepted: '已接单',
  in_progress: '办理中',
  waiting_on_department: '等待部门办理',
  done: '已办结',
  cancelled: '已取消',
};

/** What each step means for the resident, in plain words. */
export const STATUS_HINTS = {
  new: '正在为您寻找合适的代办员。',
  dispatched: '已派给代办员，等待对方接单（2 个工作小时内）。',
  accepted: '代办员已接单，会按约定时间联系您。',
  in_progress: '代办员正在为您办理。',
  waiting_on_department: '材料已交部门，正在等待部门办理结果。',
  done: '事项已办结。',
  cancelled: '该预约已取消。',
};

export const ACTION_LABELS = {
  accept: '接单',
  decline: '退回',
  start: '开始办理',
  wait: '等待部门',
  resume: '继续办理',
  complete: '办结',
  cancel: '取消预约',
  reassign: '改派',
  consent: '同意代为申请',
  open_case: '代为网上申请',
  note: '添加备注',
};

export const EVENT_LABELS = {
  create: '提交预约',
  dispatch: '派单',
  accept: '接单',
  decline: '退回',
  start: '开始办理',
  wait: '等待部门',
  resume: '继续办理',
  complete: '办结',
  cancel: '取消',
  reassign: '改派',
  consent: '同意代办',
  case: '代为申请',
  case_opened: '代为网上申请',
  note: '备注',
  escalated: '超时督办',
  undispatched: '暂无可派人员',
};

export const URGENCY = { normal: '一般', urgent: '加急' };
export const CHANNELS = { online: '网上预约', phone: '电话预约', station: '站点受理' };

/** A status badge (class status-<status>, styled in assist.css). */
export function statusBadge(status, label) {
  return h('span', { class: ['badge', 'assist-status', `assist-status-${status}`], dataset: { status } }, label || STATUS_LABELS[status] || status);
}

/** "2026-12-01T02:30:00Z" → "12月1日 10:30" in Shanghai time. */
export function fmtShort(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).formatToParts(d);
  const v = (t) => (p.find((x) => x.type === t) || {}).value || '';
  return `${v('month')}月${v('day')}日 ${v('hour')}:${v('minute')}`;
}

/** Minutes from now until iso (negative: past). */
export function minutesUntil(iso) {
  const t = Date.parse(iso || '');
  return Number.isNaN(t) ? null : Math.round((t - Date.now()) / 60000);
}

/** "还剩 1 小时 20 分" / "已超时 15 分" for a due instant. */
export function dueText(iso) {
  const m = minutesUntil(iso);
  if (m === null) return '';
  const a = Math.abs(m);
  const span = a >= 1440 ? `${Math.floor(a / 1440)} 天 ${Math.floor((a % 1440) / 60)} 小时` : a >= 60 ? `${Math.floor(a / 60)} 小时 ${a % 60} 分` : `${a} 分`;
  return m >= 0 ? `还剩 ${span}` : `已超时 ${span}`;
}

/** The place of a request in words: 村, 镇 (岛). */
export function placeText(r) {
  const parts = [r.village && r.village.name, r.town && r.town.name].filter(Boolean);
  const island = r.island && r.island.name;
  return parts.join('，') + (island ? `（${island}）` : '');
}

/** The timeline of a request, oldest first. */
export function assistTimeline(events) {
  if (!events || !events.length) return h('p', { class: 'muted' }, '暂无记录。');
  return h(
    'ol',
    { class: 'timeline', id: 'assist-timeline' },
    events.map((e, i) =>
      h(
        'li',
        { class: ['tl-item', i === events.length - 1 && 'tl-last'], dataset: { action: e.action } },
        h('span', { class: 'tl-dot', 'aria-hidden': 'true' }),
        h(
          'div',
          { class: 'tl-body' },
          h(
            'p',
            { class: 'tl-head' },
            h('strong', { class: 'tl-label' }, EVENT_LABELS[e.action] || ACTION_LABELS[e.action] || e.action),
            e.to_status && e.to_status !== e.from_status ? h('span', { class: 'tl-to' }, `→ ${STATUS_LABELS[e.to_status] || e.to_status}`) : null,
          ),
          h('p', { class: 'tl-meta' }, h('time', { datetime: e.at }, fmtShort(e.at)), ' · ', (e.actor && e.actor.name) || '系统'),
          e.note ? h('p', { class: 'tl-reason' }, e.note) : null,
          e.data && e.data.reason ? h('p', { class: 'tl-reason' }, e.data.reason) : null,
          e.file_id ? h('p', { class: 'tl-file' }, '已附办结照片') : null,
        ),
      ),
    ),
  );
}

/**
 * The next way from `from` to `to` by the ferry graph (GET /api/v1/travel), as
 * a short hint: "14:30 沈家门→东极 客轮，约 16:20 到达". Resolves with null when
 * the API cannot answer (an unknown place): a hint is never worth an error.
 */
export async function travelHint(from, to, signal) {
  if (!from || !to) return null;
  let t;
  try {
    t = await get(withQuery('/api/v1/travel', { from, to }), { signal });
  } catch {
    return null;
  }
  if (!t) return null;
  if (!t.reachable) return { text: '今天没有可达的班次（仅包船），请与居民电话联系。', ferry: false, minutes: null };
  const ferry = (t.legs || []).find((l) => l.mode === 'ferry');
  const hm = (s) => (s || '').slice(11, 16);
  if (!ferry) return { text: `无需乘船，约 ${t.minutes} 分钟可到（${hm(t.arrival)} 到达）。`, ferry: false, minutes: t.minutes };
  const wait = ferry.wait_minutes ? `，候船 ${ferry.wait_minutes} 分` : '';
  return {
    text: `下一班船 ${hm(ferry.depart)} 开（${ferry.from}→${ferry.to}${wait}），约 ${hm(t.arrival)} 到达。`,
    ferry: true,
    minutes: t.minutes,
  };
}
