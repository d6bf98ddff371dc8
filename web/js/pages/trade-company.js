/* /trade/company — the bidder's desk (roles bidder, company): register the
 * company (统一社会信用代码, name, legal representative, address, phone; POST
 * /api/v1/trade/companies), then "我的投标": the tenders the company has a deposit
 * or a bid in (GET /api/v1/trade/tenders?mine=1), each with its deposit and the
 * receipts of its sealed bids (GET …/deposits, GET …/bids). */
import { get, post } from '../api.js';
import { busy, clearFormErrors, field, fmtDateTime, formAlert, h, maskMiddle, notice, replace, showFormError } from '../dom.js';
import { kindBadge, statusBadge, tradeCss, tradeTabs, yuan } from './trade-list.js';

const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** GB 32100-2015 check character (the server checks it too; this only saves a round trip). */
export function usccValid(s) {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(s[i]) * USCC_W[i];
  const c = (31 - (sum % 31)) % 31;
  return USCC_CHARS[c] === s[17];
}

export async function render(main, ctx) {
  tradeCss();
  ctx.setTitle('我的投标');
  replace(main, h('p', { class: 'loading' }, '正在加载…'));
  let company = null;
  try {
    company = await get('/api/v1/trade/companies/me', { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    if (e.status !== 404) throw e;
  }
  if (ctx.signal.aborted) return;
  const head = h(
    'div',
    { class: 'page-head' },
    h('h1', { class: 'page-title', tabindex: '-1' }, '我的投标'),
    h('p', { class: 'page-sub' }, company ? `${company.name} 参与的招标、采购和竞买项目。` : '参与投标前，请先登记企业信息。'),
  );
  if (!company) {
    replace(main, head, tradeTabs(ctx, '/trade/company'), registerForm(ctx));
    return;
  }
  const box = h('div', { id: 'my-tenders' }, h('p', { class: 'loading' }, '正在加载投标项目…'));
  replace(main, head, tradeTabs(ctx, '/trade/company'), h('div', { class: 'trade-main' }, companyPanel(company), h('section', { class: 'panel', 'aria-labelledby': 'my-tenders-title' }, h('h2', { class: 'panel-title', id: 'my-tenders-title' }, '我参与的项目'), box)));
  let r;
  try {
    r = await get('/api/v1/trade/tenders?mine=1&limit=50', { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(box, notice('error', `加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  if (!r.items.length) {
    replace(box, h('p', { class: 'muted' }, '尚未参与任何项目。'), h('a', { class: 'btn btn-primary', href: '/trade' }, '查看交易公告'));
    return;
  }
  const rows = await Promise.all(
    r.items.map(async (t) => {
      const [deps, bids] = await Promise.all([
        get(`/api/v1/trade/tenders/${t.id}/deposits`, { signal: ctx.signal }).catch(() => null),
        get(`/api/v1/trade/tenders/${t.id}/bids`, { signal: ctx.signal }).catch(() => null),
      ]);
      return { t, deps, bids };
    }),
  );
  if (ctx.signal.aborted) return;
  replace(box, h('ol', { class: 'trade-list', id: 'my-tender-list' }, rows.map(myCard)));
}

function companyPanel(c) {
  return h(
    'section',
    { class: 'panel', id: 'company-panel', 'aria-labelledby': 'company-title' },
    h('h2', { class: 'panel-title', id: 'company-title' }, '企业信息'),
    h(
      'dl',
      { class: 'kv trade-kv' },
      [
        ['企业名称', c.name],
        ['统一社会信用代码', h('span', { class: 'mono', id: 'company-uscc' }, c.uscc)],
        c.legal_rep ? ['法定代表人', c.legal_rep] : null,
        c.address ? ['地址', c.address] : null,
        c.phone ? ['联系电话', maskMiddle(c.phone, 3, 4)] : null,
        ['登记时间', fmtDateTime(c.created_at)],
      ]
        .filter(Boolean)
        .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
    ),
  );
}

function myCard({ t, deps, bids }) {
  const dep = deps && deps.items && deps.items[0];
  const mine = (bids && (bids.mine || bids.items)) || [];
  const current = mine.find((b) => b.status === 'sealed' || b.status === 'opened') || mine[0];
  return h(
    'li',
    { class: 'trade-card', dataset: { id: String(t.id) } },
    h('div', { class: 'trade-card-head' }, kindBadge(t), statusBadge(t), h('span', { class: 'trade-no' }, t.tender_no)),
    h('h3', { class: 'trade-card-title' }, h('a', { href: `/trade/tenders/${t.id}` }, t.title)),
    h(
      'dl',
      { class: 'trade-facts' },
      h('div', null, h('dt', null, '截止'), h('dd', null, fmtDateTime(t.deadline_at))),
      h('div', null, h('dt', null, '保证金'), h('dd', null, dep ? `${yuan(dep.amount)}（${dep.ref}）` : '未缴纳')),
      h('div', null, h('dt', null, '投标文件'), h('dd', null, current ? `第 ${current.seq} 次递交 · ${fmtDateTime(current.submitted_at)}` : '未递交')),
    ),
    current ? h('code', { class: 'trade-code' }, `回执 #${current.id}  密文 SHA-256 ${current.envelope_sha256}`) : null,
  );
}

function registerForm(ctx) {
  const form = h(
    'form',
    { class: 'form trade-form', id: 'company-form', novalidate: true },
    formAlert(),
    h(
      'div',
      { class: 'form-grid' },
      field({ label: '统一社会信用代码', name: 'uscc', required: true, maxlength: 18, autocomplete: 'off', hint: '18 位，见营业执照' }),
      field({ label: '企业名称', name: 'name', required: true, maxlength: 200 }),
      field({ label: '法定代表人', name: 'legal_rep', maxlength: 64 }),
      field({ label: '联系电话', name: 'phone', type: 'tel', maxlength: 20, inputmode: 'tel' }),
      field({ label: '地址', name: 'address', maxlength: 200, wide: true }),
    ),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '登记企业')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const v = {};
    for (const n of ['uscc', 'name', 'legal_rep', 'phone', 'address']) {
      const s = form.elements.namedItem(n).value.trim();
      if (s) v[n] = n === 'uscc' ? s.toUpperCase() : s;
    }
    if (!v.uscc || !usccValid(v.uscc)) {
      showFormError(form, { field: 'uscc', message: '统一社会信用代码无效（18 位，校验位不符）' });
      return;
    }
    await busy(form, async () => {
      try {
        await post('/api/v1/trade/companies', v);
        ctx.navigate('/trade/company', { replace: true });
      } catch (err) {
        showFormError(form, err);
      }
    });
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'company-form-title' }, h('h2', { class: 'panel-title', id: 'company-form-title' }, '登记企业'), form);
}
