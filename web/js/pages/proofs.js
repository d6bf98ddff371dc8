/* /me/proofs and /work/proofs — 证明 (signed proofs) for residents and for the
 * village, town and district that check and issue them (src/proofs/, docs/PROOFS.md).
 *
 * Residents ask for a proof online (居住情况证明, 亲属关系证明 …: GET
 * /api/v1/proofs/kinds), follow its steps, download the signed PDF and open its
 * public verification page (/verify/{no}) — what anyone holding the paper can do
 * by scanning the QR code. Staff and approvers see the queue of their town or
 * district (GET /api/v1/proofs) and take the next step: 村核实 (check_village),
 * 镇审核 (check_town), 签发 (issue), or 不予出具 (refuse, with a reason). The API
 * decides who may take which step (a checker never signs their own check). */
import { get, post, withQuery } from '../api.js';
import { fmtShort } from '../assist.js';
import { askReason } from '../cases.js';
import { clearFormErrors, field, formAlert, h, notice, replace, showFormError } from '../dom.js';

const STATUS = {
  requested: '待村（社区）核实',
  village_checked: '待镇（街道）审核',
  town_checked: '待区县签发',
  issued: '已签发',
  refused: '不予出具',
  revoked: '已撤销',
  expired: '已过期',
};
const STEP = { request: '提出申请', check_village: '村（社区）核实', check_town: '镇（街道）审核', issue: '签发', refuse: '不予出具', revoke: '撤销' };
// The step staff take next, by status.
const NEXT = { requested: 'check_village', village_checked: 'check_town', town_checked: 'issue' };

function badge(p) {
  const s = p.effective_status || p.status;
  return h('span', { class: ['badge', 'proof-status', `proof-status-${s}`], dataset: { status: s } }, STATUS[s] || s);
}

function steps(p) {
  return h(
    'ol',
    { class: 'proof-steps' },
    (p.steps || []).map((s) => h('li', null, h('strong', null, STEP[s.action] || s.action), ` · ${fmtShort(s.at)} · ${s.actor_name || ''}`, s.note ? ` · ${s.note}` : '')),
  );
}

function proofCard(p, extra) {
  const issued = p.status === 'issued';
  return h(
    'li',
    { class: 'card proof-card', dataset: { id: p.id, status: p.effective_status || p.status } },
    h('p', null, h('strong', null, p.title), ' ', badge(p)),
    h('p', { class: 'muted' }, `${p.proof_no} · ${p.purpose}`, p.holder_masked ? ` · ${p.holder_masked}` : ''),
    issued ? h('p', null, `有效期至 ${p.valid_until ? p.valid_until.slice(0, 10) : ''}`) : null,
    steps(p),
    issued
      ? h(
          'p',
          { class: 'proof-links' },
          h('a', { class: 'btn btn-primary', href: `/api/v1/proofs/${p.id}/pdf`, download: `${p.proof_no}.pdf` }, '下载证明 PDF'),
          ' ',
          h('a', { class: 'btn btn-secondary proof-verify-link', href: `/verify?no=${encodeURIComponent(p.proof_no)}` }, '核验'),
        )
      : null,
    extra || null,
  );
}

export async function render(main, ctx) {
  if (location.pathname.startsWith('/work/')) return staffQueue(main, ctx);
  return mine(main, ctx);
}

async function mine(main, ctx) {
  ctx.setTitle('我的证明');
  const list = h('div', { id: 'proof-list' }, h('p', { class: 'loading' }, '正在加载…'));
  const kinds = await get('/api/v1/proofs/kinds', { signal: ctx.signal }).catch(() => ({ items: [] }));
  if (ctx.signal.aborted) return;
  const kind = field({ label: '证明类型', name: 'kind', required: true, options: [{ value: '', label: '请选择' }, ...(kinds.items || []).map((k) => ({ value: k.kind, label: k.title }))] });
  const purpose = field({ label: '用途', name: 'purpose', required: true, maxlength: 300, hint: '例如：子女入学、办理低保' });
  const details = field({ label: '需要证明的情况', name: 'details', required: true, multiline: true, rows: 3, maxlength: 1500, hint: '例如：本人自 2010 年起居住于某村某号' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'proof-submit' }, '提交申请');
  const form = h('form', { class: 'form card', id: 'proof-form', novalidate: true }, h('h2', null, '申请开具证明'), formAlert(), kind, purpose, details, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    submit.disabled = true;
    try {
      await post('/api/v1/proofs', { kind: kind.control.value, purpose: purpose.control.value.trim(), details: details.control.value.trim() });
      form.reset();
      await load();
    } catch (e) {
      showFormError(form, e);
    } finally {
      submit.disabled = false;
    }
  });
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, '我的证明'), h('p', { class: 'page-sub' }, '村、镇、区逐级核实后签发带二维码的电子证明，任何人扫码即可核验真伪，不用跑腿盖章。')),
    form,
    h('h2', null, '申请记录'),
    list,
  );
  async function load() {
    const r = await get(withQuery('/api/v1/proofs', { mine: 1, limit: 50 }), { signal: ctx.signal }).catch((e) => ({ error: e }));
    if (ctx.signal.aborted) return;
    if (r.error) {
      replace(list, notice('error', r.error.message));
      return;
    }
    replace(list, (r.items || []).length ? h('ul', { class: 'proof-cards' }, r.items.map((p) => proofCard(p))) : h('p', { class: 'muted' }, '还没有申请过证明。'));
  }
  await load();
}

async function staffQueue(main, ctx) {
  ctx.setTitle('证明审核');
  const flash = h('div', { id: 'proof-flash', 'aria-live': 'polite' });
  const list = h('div', { id: 'proof-queue' }, h('p', { class: 'loading' }, '正在加载…'));
  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', { class: 'page-title', tabindex: '-1' }, '证明审核'), h('p', { class: 'page-sub' }, '本镇（街道）或本区县居民申请的证明：村核实、镇审核、区县签发，签发后生成带签名二维码的 PDF。')),
    flash,
    list,
  );
  async function act(p, action) {
    let body = {};
    if (action === 'refuse') {
      const reason = await askReason({ host: document.body, title: '不予出具', label: '理由（会告知申请人）', required: true, danger: true });
      if (!reason) return;
      body = { reason };
    }
    try {
      await post(`/api/v1/proofs/${p.id}/actions/${action}`, body);
      replace(flash, notice('ok', `${p.proof_no}：已${STEP[action]}`));
    } catch (e) {
      replace(flash, notice('error', `${p.proof_no}：${e.message}`));
    }
    await load();
  }
  async function load() {
    const r = await get(withQuery('/api/v1/proofs', { limit: 100 }), { signal: ctx.signal }).catch((e) => ({ error: e }));
    if (ctx.signal.aborted) return;
    if (r.error) {
      replace(list, notice('error', r.error.message));
      return;
    }
    const items = r.items || [];
    if (!items.length) {
      replace(list, h('p', { class: 'muted' }, '没有待处理的证明。'));
      return;
    }
    replace(
      list,
      h(
        'ul',
        { class: 'proof-cards' },
        items.map((p) => {
          const next = NEXT[p.status];
          const buttons = next
            ? h(
                'p',
                { class: 'proof-actions' },
                h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: next }, on: { click: () => act(p, next) } }, STEP[next]),
                ' ',
                h('button', { type: 'button', class: 'btn btn-danger-ghost', dataset: { action: 'refuse' }, on: { click: () => act(p, 'refuse') } }, '不予出具'),
              )
            : null;
          return proofCard(p, buttons);
        }),
      ),
    );
  }
  await load();
}
